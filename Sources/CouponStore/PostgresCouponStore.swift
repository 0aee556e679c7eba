import CouponCore
import Logging
import NIOCore
import NIOSSL
import PostgresNIO
import ServiceLifecycle

/// The database of record in distributed mode: PostgreSQL through postgres-nio's connection pool.
///
/// ## Running it
/// The store owns a `PostgresClient`, which serves queries only while its `run()` is running. The
/// store is a `Service` whose `run()` is the client's, so an app adds the store itself to its
/// `ServiceGroup` (ahead of the services that use it; groups stop in reverse order) and migrates
/// once before serving:
///
/// ```swift
/// let store = PostgresCouponStore(configuration: .init(url: try PostgresURL(text)), logger: logger)
/// app.addServices(store)
/// app.beforeServerStarts { try await store.migrate() }
/// ```
///
/// A command-line tool or a test uses ``withRunning(_:)`` instead, which runs the client, migrates,
/// runs its body and stops the client. `run()` may be called once per store.
///
/// ## Bounded calls
/// Every call finishes within ``Configuration/operationTimeout``. While the server is unreachable
/// the pool queues requests and keeps reconnecting (its circuit breaker opens only after 60 s), so
/// without this bound a write would wait; instead it throws ``CouponStoreError``, and calls succeed
/// again once the pool reconnects. A write that times out while its COMMIT is in flight may have
/// committed: coupon inserts are idempotent, so the relay simply retries.
public final class PostgresCouponStore: DatabaseOfRecord {
    public struct Configuration: Sendable {
        public var url: PostgresURL
        /// The longest one call (waiting for a connection, then its queries) may take.
        public var operationTimeout: Duration
        /// The most connections the pool opens.
        public var maximumConnections: Int

        /// - Parameters:
        ///   - url: Where the database is; see ``PostgresURL``.
        ///   - operationTimeout: Bound on each call; defaults to 10 seconds.
        ///   - maximumConnections: Pool size; defaults to postgres-nio's 20.
        public init(url: PostgresURL, operationTimeout: Duration = .seconds(10), maximumConnections: Int = 20) {
            self.url = url
            self.operationTimeout = operationTimeout
            self.maximumConnections = maximumConnections
        }

        /// The postgres-nio client configuration this store uses.
        public var clientConfiguration: PostgresClient.Configuration {
            let url = self.url
            var configuration: PostgresClient.Configuration
            switch url.endpoint {
            case .tcp(let host, let port):
                configuration = .init(
                    host: host,
                    port: port,
                    username: url.user,
                    password: url.password,
                    database: url.database,
                    tls: Self.tls(for: url.sslMode)
                )
            case .unixSocket:
                configuration = .init(
                    unixSocketPath: url.socketPath ?? "",
                    username: url.user,
                    password: url.password,
                    database: url.database
                )
            }
            if let connectTimeout = url.connectTimeout {
                configuration.options.connectTimeout = connectTimeout
            }
            configuration.options.maximumConnections = self.maximumConnections
            return configuration
        }

        private static func tls(for mode: PostgresURL.SSLMode) -> PostgresClient.Configuration.TLS {
            // libpq's meanings: prefer and require encrypt but do not check the certificate.
            var unverified = TLSConfiguration.makeClientConfiguration()
            unverified.certificateVerification = .none
            switch mode {
            case .disable: return .disable
            case .prefer: return .prefer(unverified)
            case .require: return .require(unverified)
            case .verifyFull: return .require(.makeClientConfiguration())
            }
        }
    }

    /// How many coupons one INSERT statement carries.
    static let rowsPerInsert = 1000
    /// How coupon batches are inserted; see ``CouponInsertStrategy`` for the measurement behind it.
    static let insertStrategy = CouponInsertStrategy.unnest

    /// How much longer than its deadline a caller waits for a call before abandoning it.
    static let abandonAfter: Duration = .seconds(1)

    public let configuration: Configuration
    private let client: PostgresClient
    private let logger: Logger
    private let calls = DetachedCalls()
    private let eventLoop: any EventLoop

    /// Creates the store and its pool. Nothing connects until ``run()`` runs and a call needs a connection.
    ///
    /// - Parameters:
    ///   - configuration: The database URL and limits.
    ///   - logger: Receives migrations and the pool's background events.
    ///   - eventLoopGroup: Where connections live; defaults to postgres-nio's shared group.
    public init(
        configuration: Configuration,
        logger: Logger,
        eventLoopGroup: any EventLoopGroup = PostgresClient.defaultEventLoopGroup
    ) {
        self.configuration = configuration
        self.logger = logger
        self.eventLoop = eventLoopGroup.any()
        self.client = PostgresClient(
            configuration: configuration.clientConfiguration,
            eventLoopGroup: eventLoopGroup,
            backgroundLogger: logger
        )
    }

    /// The schema version this code migrates to.
    public static var schemaVersion: Int { PostgresMigrations.all.last?.version ?? 0 }

    // MARK: Lifecycle

    /// Runs the connection pool and the store's calls until the task is cancelled or graceful
    /// shutdown begins (as postgres-nio's client does: the store is the last service to stop).
    public func run() async {
        await cancelWhenGracefulShutdown {
            await withDiscardingTaskGroup { group in
                group.addTask { await self.client.run() }
                group.addTask { await self.calls.run() }
            }
        }
    }

    /// Applies the migrations this version knows and the database lacks; see ``PostgresMigrations``.
    public func migrate() async throws {
        let logger = self.logger
        _ = try await self.withConnection("migration") { connection in
            try await PostgresMigrations.migrate(connection, logger: logger)
        }
    }

    public var location: String { "PostgreSQL at \(self.configuration.url)" }

    // MARK: CouponStore

    public func write(_ writes: [StoreWrite]) async throws {
        guard !writes.isEmpty else { return }
        let logger = self.logger
        let operation = writes.count == 1 ? "write of 1 change" : "write of \(writes.count) changes"
        try await self.withConnection(operation) { connection in
            try await PostgresTransaction.run(on: connection, logger: logger) {
                try await PostgresStoreTransaction(connection: connection, logger: logger).apply(writes, rowsPerInsert: Self.rowsPerInsert)
            }
        }
    }

    public func campaigns() async throws -> [Campaign] {
        let logger = self.logger
        return try await self.withConnection("read of campaigns") { connection in
            // COLLATE "C": byte order, as SQLite sorts, whatever the database's collation.
            let rows = try await connection.query(
                """
                SELECT id, name, coupon_limit, starts_at, ends_at, created_at, epoch
                FROM campaigns ORDER BY id COLLATE "C"
                """,
                logger: logger
            )
            var campaigns: [Campaign] = []
            for try await (id, name, limit, startsAt, endsAt, createdAt, epoch) in rows.decode(
                (String, String, Int64, Int64?, Int64?, Int64, Int64).self
            ) {
                do {
                    var campaign = try Campaign(
                        id: CampaignID(validating: id),
                        name: name,
                        limit: limit,
                        startsAt: startsAt.map(Timestamp.init(millisecondsSince1970:)),
                        endsAt: endsAt.map(Timestamp.init(millisecondsSince1970:)),
                        createdAt: Timestamp(millisecondsSince1970: createdAt)
                    )
                    campaign.epoch = epoch
                    campaigns.append(campaign)
                } catch {
                    throw CouponStoreError("campaigns row '\(id)' is not a valid campaign: \(error)")
                }
            }
            return campaigns
        }
    }

    public func coupons(of campaign: CampaignID) async throws -> [Coupon] {
        let logger = self.logger
        return try await self.withConnection("read of campaign '\(campaign)' coupons") { connection in
            let rows = try await connection.query(
                """
                SELECT campaign_id, user_id, sequence, issued_at FROM coupons
                WHERE campaign_id = \(campaign.rawValue) ORDER BY sequence
                """,
                logger: logger
            )
            return try await Self.coupons(from: rows)
        }
    }

    public func coupons(heldBy user: UserID) async throws -> [Coupon] {
        let logger = self.logger
        return try await self.withConnection("read of user \(user)'s coupons") { connection in
            let rows = try await connection.query(
                """
                SELECT campaign_id, user_id, sequence, issued_at FROM coupons
                WHERE user_id = \(user.rawValue) ORDER BY issued_at, campaign_id COLLATE "C"
                """,
                logger: logger
            )
            return try await Self.coupons(from: rows)
        }
    }

    public func ping() async throws {
        let logger = self.logger
        try await self.withConnection("ping") { connection in
            _ = try await connection.query("SELECT 1", logger: logger)
        }
    }

    // MARK: Statements

    /// Inserts `coupons` in one statement, skipping any whose (campaign, user) or (campaign, sequence) exists.
    static func insert(
        _ coupons: [Coupon],
        strategy: CouponInsertStrategy,
        on connection: PostgresConnection,
        logger: Logger
    ) async throws {
        guard !coupons.isEmpty else { return }
        try await Self.step("inserting \(coupons.count) coupons") {
            _ = try await connection.query(strategy.query(for: coupons), logger: logger)
        }
    }

    private static func coupons(from rows: PostgresRowSequence) async throws -> [Coupon] {
        var coupons: [Coupon] = []
        for try await (campaign, user, sequence, issuedAt) in rows.decode((String, Int64, Int64, Int64).self) {
            do {
                coupons.append(
                    Coupon(
                        campaignID: try CampaignID(validating: campaign),
                        userID: try UserID(user),
                        sequence: sequence,
                        issuedAt: Timestamp(millisecondsSince1970: issuedAt)
                    )
                )
            } catch {
                throw CouponStoreError("coupons row (\(campaign), \(user)) is not a valid coupon: \(error)")
            }
        }
        return coupons
    }

    static func step<T>(_ name: String, _ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch {
            throw PostgresStepError(step: name, underlying: error)
        }
    }

    // MARK: Deadline

    /// Runs `body` on a pooled connection, within ``Configuration/operationTimeout``.
    ///
    /// - Throws: ``CouponStoreError`` naming `operation`, the database and the cause.
    private func withConnection<T: Sendable>(
        _ operation: String,
        _ body: @escaping @Sendable (PostgresConnection) async throws -> T
    ) async throws -> T {
        let client = self.client
        let url = self.configuration.url
        let timeout = self.configuration.operationTimeout
        let deadline = LeaseDeadline()
        @Sendable func expired() -> CouponStoreError {
            CouponStoreError(
                deadline.expire()
                    ? "PostgreSQL \(operation) on \(url) did not finish within \(timeout); the connection was closed"
                    : "PostgreSQL \(operation) on \(url) got no connection within \(timeout): the server is down or unreachable, or refused the login (the log shows each attempt's error)"
            )
        }
        do {
            // The call races its own deadline, which cancels a connection request still waiting;
            // the caller waits at most a second longer, in case the call ignores that (see DetachedCalls).
            return try await self.calls.run(
                deadline: .now() + TimeAmount(timeout + Self.abandonAfter),
                on: self.eventLoop,
                timedOut: expired,
                stopped: CouponStoreError("PostgreSQL \(operation) on \(url) was refused: the store is not running")
            ) {
                try await withThrowingTaskGroup(of: T?.self) { group in
                    group.addTask {
                        try await client.withConnection { connection in
                            guard deadline.begin(connection) else { throw CancellationError() }
                            defer { deadline.end() }
                            return try await body(connection)
                        }
                    }
                    group.addTask {
                        try await Task.sleep(for: timeout)
                        return nil
                    }
                    defer { group.cancelAll() }
                    if let value = try await group.next() ?? nil {
                        return value
                    }
                    throw expired()
                }
            }
        } catch let error as CouponStoreError {
            throw error
        } catch {
            // A step error reads "while <step>: <cause>"; anything else is the cause alone.
            let cause = error is PostgresStepError ? " \(Self.describe(error))" : ": \(Self.describe(error))"
            throw CouponStoreError("PostgreSQL \(operation) on \(url) failed\(cause)")
        }
    }
}
