import CouponCore
import CouponMySQL
import CouponStore
import CouponTestSupport
import PostgresNIO
import Testing

extension IntegrationTests {
    /// What the databases of record both do beyond the store contract (versioned migrations, a
    /// server that stops and starts under a running store), run against PostgreSQL and MariaDB alike.
    @Suite struct DatabaseOfRecordTests {
        @Test(arguments: DatabaseServer.allCases)
        func migrationsAreAppliedOnce(_ server: DatabaseServer) async throws {
            try await server.withDatabase { database in
                try await database.withStore { store in
                    try await store.write([.createCampaign(try Fixture.campaign("a"))])
                }
                let first = try await database.appliedMigrations()
                #expect(first.map(\.version) == Array(1...Int64(database.schemaVersion)))
                // Reopening finds the schema current: no migration runs again, the data stays.
                try await database.withStore { store in
                    try await store.migrate()
                    #expect(try await store.campaigns() == [try Fixture.campaign("a")])
                }
                #expect(try await database.appliedMigrations() == first)
            }
        }

        @Test(arguments: DatabaseServer.allCases)
        func storesMigratingOneEmptyDatabaseAtOnceAllSucceed(_ server: DatabaseServer) async throws {
            try await server.withDatabase { database in
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for index in 0..<4 {
                        group.addTask {
                            try await database.withStore { store in
                                try await store.write([.createCampaign(try Fixture.campaign("c\(index)"))])
                            }
                        }
                    }
                    try await group.waitForAll()
                }
                #expect(try await database.appliedMigrations().map(\.version) == Array(1...Int64(database.schemaVersion)))
                try await database.withStore { store in
                    let ids = try await store.campaigns().map(\.id.rawValue)
                    #expect(ids == ["c0", "c1", "c2", "c3"])
                }
            }
        }

        @Test(arguments: DatabaseServer.allCases)
        func aDatabaseWithANewerSchemaIsRefused(_ server: DatabaseServer) async throws {
            try await server.withDatabase { database in
                try await database.withStore { _ in }
                // Simulate a later coupongate having migrated this database further.
                try await database.execute("INSERT INTO schema_migrations VALUES (999, 'future', 0)")
                let error = try await #require(throws: CouponStoreError.self) {
                    try await database.withStore { _ in }
                }
                #expect(error.message.contains("999"))
                #expect(error.message.contains("(\(database.schemaVersion))"))
            }
        }

        /// Stops a server under a running store, then starts it again.
        ///
        /// Uses a server of its own: stopping the shared server would fail the tests running beside it.
        @Test(arguments: DatabaseServer.allCases)
        func aStoppedServerFailsCallsInTimeAndTheStoreRecovers(_ server: DatabaseServer) async throws {
            try await server.withPrivateServer { process, database in
                try await database.withStore(operationTimeout: .seconds(2)) { store in
                    let campaign = try CampaignID(validating: "a")
                    try await store.write([.createCampaign(try Fixture.campaign("a"))])
                    try await process.halt()

                    let clock = ContinuousClock()
                    let started = clock.now
                    let error = try await #require(throws: CouponStoreError.self) {
                        try await store.write([.insertCoupon(try Fixture.coupon("a", user: 1, sequence: 1))])
                    }
                    // Bounded by the 2 s operation timeout, not a pool's reconnect schedule.
                    #expect(clock.now - started < .seconds(10))
                    #expect(error.message.contains("write of 1 change"), "\(error.message)")
                    await #expect(throws: CouponStoreError.self) { try await store.ping() }

                    try await process.start()
                    // The connections died with the server; the store opens new ones on its own schedule.
                    let recovered = try await Self.retry(for: .seconds(60)) {
                        try await store.write([.insertCoupon(try Fixture.coupon("a", user: 2, sequence: 2))])
                    }
                    #expect(recovered)
                    #expect(try await store.coupons(of: campaign) == [try Fixture.coupon("a", user: 2, sequence: 2)])
                }
            }
        }

        /// Calls `body` until it succeeds or `limit` has passed; whether it succeeded.
        static func retry(for limit: Duration, _ body: () async throws -> Void) async throws -> Bool {
            let clock = ContinuousClock()
            let deadline = clock.now + limit
            while clock.now < deadline {
                do {
                    try await body()
                    return true
                } catch {
                    try await Task.sleep(for: .milliseconds(250))
                }
            }
            return false
        }
    }
}

/// A database server of record, as these tests need it.
enum DatabaseServer: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case postgres
    case mysql

    var testDescription: String { self.rawValue }

    /// Creates an empty database on the test server, passes it to `body`, then drops it.
    func withDatabase(_ body: (TestDatabase) async throws -> Void) async throws {
        switch self {
        case .postgres:
            try await TestPostgres.withDatabase { url in try await body(.postgres(url)) }
        case .mysql:
            try await TestMySQL.withDatabase { url in try await body(.mysql(url)) }
        }
    }

    /// Starts a private server (see ``PrivateDatabaseServer``) and passes it and an empty database on it to `body`.
    func withPrivateServer(_ body: (PrivateDatabaseServer, TestDatabase) async throws -> Void) async throws {
        switch self {
        case .postgres:
            try await PrivateDatabaseServer.postgres { process, url in try await body(process, .postgres(url)) }
        case .mysql:
            try await PrivateDatabaseServer.mysql { process, url in
                try await TestMySQL.withDatabase(on: url) { url in try await body(process, .mysql(url)) }
            }
        }
    }
}

/// One empty database of a test server.
enum TestDatabase: Sendable {
    case postgres(PostgresURL)
    case mysql(MySQLURL)

    struct AppliedMigration: Equatable {
        var version: Int64
        var appliedAt: Int64
    }

    var schemaVersion: Int {
        switch self {
        case .postgres: PostgresCouponStore.schemaVersion
        case .mysql: MySQLCouponStore.schemaVersion
        }
    }

    /// A store on this database, running and migrated for the duration of `body`.
    func withStore(operationTimeout: Duration = .seconds(20), _ body: (any DatabaseOfRecord) async throws -> Void) async throws {
        switch self {
        case .postgres(let url): try await TestPostgres.withStore(url, operationTimeout: operationTimeout) { try await body($0) }
        case .mysql(let url): try await TestMySQL.withStore(url, operationTimeout: operationTimeout) { try await body($0) }
        }
    }

    /// The rows of `schema_migrations`, by version.
    func appliedMigrations() async throws -> [AppliedMigration] {
        switch self {
        case .postgres(let url):
            return try await TestPostgres.withClient(url) { client in
                var rows: [AppliedMigration] = []
                let result = try await client.query("SELECT version, applied_at FROM schema_migrations ORDER BY version", logger: TestPostgres.logger)
                for try await (version, appliedAt) in result.decode((Int64, Int64).self) {
                    rows.append(AppliedMigration(version: version, appliedAt: appliedAt))
                }
                return rows
            }
        case .mysql(let url):
            return try await TestMySQL.withStore(url) { store in
                try await store.appliedMigrations().map { AppliedMigration(version: $0.version, appliedAt: $0.appliedAt) }
            }
        }
    }

    /// Runs one SQL statement (test fixtures only: the text is the test's own).
    func execute(_ sql: String) async throws {
        switch self {
        case .postgres(let url):
            try await TestPostgres.withClient(url) { client in
                _ = try await client.query(PostgresQuery(unsafeSQL: sql), logger: TestPostgres.logger)
            }
        case .mysql(let url):
            try await MySQLAdministration.execute(sql, on: url)
        }
    }
}
