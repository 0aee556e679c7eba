import CouponCore
import CouponStore
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle

/// The database of record on MySQL or MariaDB, through MariaDB Connector/C.
///
/// ## Threads
/// Connector/C blocks its thread for every call, so the calls run on a `NIOThreadPool` of the store's
/// own, one thread per pooled connection, never on an event loop or Swift's cooperative pool.
///
/// ## Running it
/// Like ``PostgresCouponStore``: add the store to the `ServiceGroup` ahead of its users and call
/// ``migrate()`` before serving, or use `withRunning(_:)`. When `run()` returns (graceful shutdown or
/// cancellation) the connections are closed and the thread pool stops.
///
/// ## Bounded calls
/// Every call finishes within ``Configuration/operationTimeout``: waiting for a connection is bounded by
/// a timer, and a statement still running at the deadline has its connection's socket shut down, which
/// fails the blocking call at once (the server rolls back the open transaction). A write that times out
/// while its COMMIT is in flight may have committed: coupon inserts are idempotent, so the relay retries.
public final class MySQLCouponStore: DatabaseOfRecord {
    public struct Configuration: Sendable {
        public var url: MySQLURL
        /// The longest one call (waiting for a connection, then its statements) may take.
        public var operationTimeout: Duration
        /// The most connections (and threads) the store opens.
        public var maximumConnections: Int

        /// - Parameters:
        ///   - url: Where the database is; see ``MySQLURL``.
        ///   - operationTimeout: Bound on each call; defaults to 10 seconds.
        ///   - maximumConnections: Pool and thread pool size; defaults to 8.
        public init(url: MySQLURL, operationTimeout: Duration = .seconds(10), maximumConnections: Int = 8) {
            self.url = url
            self.operationTimeout = operationTimeout
            self.maximumConnections = max(1, maximumConnections)
        }
    }

    /// How many coupons one INSERT statement carries (4 bound values each; the protocol allows 65,535).
    static let rowsPerInsert = 500

    public let configuration: Configuration
    private let logger: Logger
    private let threadPool: NIOThreadPool
    private let eventLoop: any EventLoop
    private let pool: MySQLConnectionPool

    /// Creates the store and starts its threads. Nothing connects until a call needs a connection.
    ///
    /// - Parameters:
    ///   - configuration: The database URL and limits.
    ///   - logger: Receives migrations.
    ///   - eventLoopGroup: Where the deadline timers run.
    public init(configuration: Configuration, logger: Logger, eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) {
        self.configuration = configuration
        self.logger = logger
        self.threadPool = NIOThreadPool(numberOfThreads: configuration.maximumConnections)
        self.threadPool.start()
        self.eventLoop = eventLoopGroup.any()
        let url = configuration.url
        let timeouts = MySQLConnection.Timeouts(
            connect: min(url.connectTimeout ?? configuration.operationTimeout, configuration.operationTimeout),
            io: configuration.operationTimeout
        )
        self.pool = MySQLConnectionPool(
            maximum: configuration.maximumConnections,
            threadPool: self.threadPool,
            eventLoop: self.eventLoop,
            connect: { try MySQLConnection.open(url, timeouts: timeouts) }
        )
    }

    /// The schema version this code migrates to.
    public static var schemaVersion: Int { MySQLMigrations.all.last?.version ?? 0 }

    public var location: String { "MySQL at \(self.configuration.url)" }

    // MARK: Lifecycle

    /// Keeps the store open until graceful shutdown or cancellation, then closes it.
    public func run() async throws {
        try? await gracefulShutdown()
        self.pool.shutdown()
        try await self.threadPool.shutdownGracefully()
    }

    /// Applies the migrations this version knows and the database lacks; see ``MySQLMigrations``.
    public func migrate() async throws {
        let logger = self.logger
        let database = self.configuration.url.database
        _ = try await self.withSession("migration") { session in
            try await MySQLMigrations.migrate(session, database: database, logger: logger)
        }
    }

    /// The applied migrations, in order: version and when it was applied (ms since 1970), for tests and tools.
    package func appliedMigrations() async throws -> [(version: Int64, appliedAt: Int64)] {
        try await self.withSession("read of schema_migrations") { session in
            try await session.query(
                "reading versions",
                "SELECT version, applied_at FROM schema_migrations ORDER BY version",
                [],
                columns: [.int, .int]
            ).compactMap { row in
                guard row.count == 2, let version = row[0].int, let appliedAt = row[1].int else { return nil }
                return (version, appliedAt)
            }
        }
    }

    // MARK: CouponStore

    public func write(_ writes: [StoreWrite]) async throws {
        guard !writes.isEmpty else { return }
        let operation = writes.count == 1 ? "write of 1 change" : "write of \(writes.count) changes"
        try await self.withSession(operation) { session in
            try await session.transaction {
                try await MySQLStoreTransaction(session: session).apply(writes, rowsPerInsert: Self.rowsPerInsert)
            }
        }
    }

    public func campaigns() async throws -> [Campaign] {
        try await self.withSession("read of campaigns") { session in
            let rows = try await session.query(
                "reading campaigns",
                "SELECT id, name, coupon_limit, starts_at, ends_at, created_at, epoch FROM campaigns ORDER BY id",
                [],
                columns: [.text, .text, .int, .int, .int, .int, .int]
            )
            return try rows.map { row in
                let id = row[0].text ?? ""
                do {
                    guard let name = row[1].text, let limit = row[2].int, let createdAt = row[5].int, let epoch = row[6].int else {
                        throw CouponStoreError("a NOT NULL column is null")
                    }
                    var campaign = try Campaign(
                        id: CampaignID(validating: id),
                        name: name,
                        limit: limit,
                        startsAt: row[3].int.map(Timestamp.init(millisecondsSince1970:)),
                        endsAt: row[4].int.map(Timestamp.init(millisecondsSince1970:)),
                        createdAt: Timestamp(millisecondsSince1970: createdAt)
                    )
                    campaign.epoch = epoch
                    return campaign
                } catch {
                    throw CouponStoreError("campaigns row '\(id)' is not a valid campaign: \(error)")
                }
            }
        }
    }

    public func coupons(of campaign: CampaignID) async throws -> [Coupon] {
        try await self.withSession("read of campaign '\(campaign)' coupons") { session in
            let rows = try await session.query(
                "reading coupons",
                "SELECT campaign_id, user_id, sequence, issued_at FROM coupons WHERE campaign_id = ? ORDER BY sequence",
                [.text(campaign.rawValue)],
                columns: [.text, .int, .int, .int]
            )
            return try Self.coupons(from: rows)
        }
    }

    public func coupons(heldBy user: UserID) async throws -> [Coupon] {
        try await self.withSession("read of user \(user)'s coupons") { session in
            let rows = try await session.query(
                "reading coupons",
                "SELECT campaign_id, user_id, sequence, issued_at FROM coupons WHERE user_id = ? ORDER BY issued_at, campaign_id",
                [.int(user.rawValue)],
                columns: [.text, .int, .int, .int]
            )
            return try Self.coupons(from: rows)
        }
    }

    public func ping() async throws {
        _ = try await self.withSession("ping") { session in
            try await session.query("ping", "SELECT 1", [], columns: [.int])
        }
    }

    private static func coupons(from rows: [[MySQLValue]]) throws -> [Coupon] {
        try rows.map { row in
            let campaign = row[0].text ?? ""
            do {
                guard let user = row[1].int, let sequence = row[2].int, let issuedAt = row[3].int else {
                    throw CouponStoreError("a NOT NULL column is null")
                }
                return Coupon(
                    campaignID: try CampaignID(validating: campaign),
                    userID: try UserID(user),
                    sequence: sequence,
                    issuedAt: Timestamp(millisecondsSince1970: issuedAt)
                )
            } catch {
                throw CouponStoreError("coupons row (\(campaign), \(row[1].int.map(String.init) ?? "null")) is not a valid coupon: \(error)")
            }
        }
    }

    // MARK: Deadline

    /// Runs `body` on a leased connection, within ``Configuration/operationTimeout``.
    ///
    /// - Throws: ``CouponStoreError`` naming `operation`, the database and the cause.
    private func withSession<T: Sendable>(_ operation: String, _ body: (MySQLSession) async throws -> T) async throws -> T {
        let url = self.configuration.url
        let timeout = self.configuration.operationTimeout
        let deadline = NIODeadline.now() + TimeAmount(timeout)
        let connection: MySQLConnection
        do {
            connection = try await self.pool.lease(deadline: deadline)
        } catch MySQLConnectionPool.LeaseFailure.timedOut {
            throw CouponStoreError(
                "MySQL \(operation) on \(url) got no connection within \(timeout): all \(self.pool.maximum) connections stayed busy"
            )
        } catch MySQLConnectionPool.LeaseFailure.closed {
            throw CouponStoreError("MySQL \(operation) on \(url) was refused: the store is shut down")
        } catch {
            throw CouponStoreError("MySQL \(operation) on \(url) could not connect: \(Self.describe(error))")
        }
        let interrupt = MySQLInterrupt(connection)
        let timer = self.eventLoop.scheduleTask(deadline: deadline) { interrupt.fire() }
        defer { self.pool.release(connection) }
        do {
            let value = try await body(MySQLSession(connection: connection, threadPool: self.threadPool))
            timer.cancel()
            // Cut just as it finished: the result stands, the connection does not.
            if interrupt.finish() { connection.markBroken() }
            return value
        } catch {
            timer.cancel()
            if interrupt.finish() {
                connection.markBroken()
                throw CouponStoreError("MySQL \(operation) on \(url) did not finish within \(timeout); the connection was closed")
            }
            if let error = error as? CouponStoreError { throw error }
            // A step error reads "while <step>: <cause>"; anything else is the cause alone.
            let cause = error is MySQLStepError ? " \(Self.describe(error))" : ": \(Self.describe(error))"
            throw CouponStoreError("MySQL \(operation) on \(url) failed\(cause)")
        }
    }

    /// A one-line account of an error from a store call.
    static func describe(_ error: any Error) -> String {
        switch error {
        case let failed as MySQLStepError:
            return "while \(failed.step): \(Self.describe(failed.underlying))"
        case let mysql as MySQLError:
            return mysql.description
        default:
            return "\(error)"
        }
    }
}
