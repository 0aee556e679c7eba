import CouponCore
import CouponStore
import CouponTestSupport
import Logging
import PostgresNIO
import Testing

/// PostgreSQL-only behaviour: migrations, connections and failures. The shared contract is in
/// ``CouponStoreContractTests``.
@Suite struct PostgresCouponStoreTests {
    @Test func migrationsAreAppliedOnce() async throws {
        try await TestPostgres.withDatabase { url in
            try await TestPostgres.withStore(url) { store in
                try await store.write([.createCampaign(try Fixture.campaign("a"))])
            }
            let first = try await Self.migrationRows(url)
            #expect(first.map(\.version) == Array(1...Int64(PostgresCouponStore.schemaVersion)))
            // Reopening finds the schema current: no migration runs again, the data stays.
            try await TestPostgres.withStore(url) { store in
                try await store.migrate()
                #expect(try await store.campaigns() == [try Fixture.campaign("a")])
            }
            #expect(try await Self.migrationRows(url) == first)
        }
    }

    @Test func storesMigratingOneEmptyDatabaseAtOnceAllSucceed() async throws {
        try await TestPostgres.withDatabase { url in
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<4 {
                    group.addTask {
                        try await TestPostgres.withStore(url) { store in
                            try await store.write([.createCampaign(try Fixture.campaign("c\(index)"))])
                        }
                    }
                }
                try await group.waitForAll()
            }
            #expect(try await Self.migrationRows(url).map(\.version) == Array(1...Int64(PostgresCouponStore.schemaVersion)))
            try await TestPostgres.withStore(url) { store in
                let ids = try await store.campaigns().map(\.id.rawValue)
                #expect(ids == ["c0", "c1", "c2", "c3"])
            }
        }
    }

    @Test func aDatabaseWithANewerSchemaIsRefused() async throws {
        try await TestPostgres.withDatabase { url in
            try await TestPostgres.withStore(url) { _ in }
            // Simulate a later coupongate having migrated this database further.
            try await TestPostgres.withClient(url) { client in
                try await client.query("INSERT INTO schema_migrations VALUES (999, 'future', 0)", logger: TestPostgres.logger)
            }
            let error = try await #require(throws: CouponStoreError.self) {
                try await TestPostgres.withStore(url) { _ in }
            }
            #expect(error.message.contains("999"))
            #expect(error.message.contains("(\(PostgresCouponStore.schemaVersion))"))
        }
    }

    @Test func aFailedWriteNamesTheStepAndTheDatabaseButNotThePassword() async throws {
        try await TestPostgres.withDatabase { url in
            try await TestPostgres.withStore(url) { store in
                try await store.write([.createCampaign(try Fixture.campaign("a"))])
                let error = try await #require(throws: CouponStoreError.self) {
                    try await store.write([.createCampaign(try Fixture.campaign("a"))])
                }
                #expect(error.message.contains("creating campaign 'a'"))
                #expect(error.message.contains("23505"))  // unique_violation
                #expect(error.message.contains(url.database))
                if let password = url.password {
                    #expect(!error.message.contains(password))
                }
            }
        }
    }

    @Test func connectsOverAUnixSocket() async throws {
        var socket = try TestPostgres.url("POSTGRES_SOCKET_URL")
        try await TestPostgres.withDatabase { url in
            socket.database = url.database
            #expect(socket.socketPath != nil)
            try await TestPostgres.withStore(socket) { store in
                try await store.write([.createCampaign(try Fixture.campaign("a")), .insertCoupon(try Fixture.coupon("a", user: 1, sequence: 1))])
                #expect(try await store.coupons(heldBy: UserID(1)).count == 1)
            }
        }
    }

    @Test func aWrongPasswordFailsWithinTheTimeout() async throws {
        var url = try TestPostgres.url()
        url.password = "not-the-password"
        let clock = ContinuousClock()
        let started = clock.now
        let error = try await #require(throws: CouponStoreError.self) {
            try await TestPostgres.withStore(url, operationTimeout: .seconds(2)) { _ in }
        }
        #expect(clock.now - started < .seconds(15))
        #expect(error.message.contains("migration"))
        #expect(!error.message.contains("not-the-password"))
    }

    /// Stops a server under a running store, then starts it again.
    ///
    /// Uses a cluster of its own: stopping the shared server would fail the tests running beside it.
    @Test func aStoppedServerFailsCallsInTimeAndTheStoreRecovers() async throws {
        try await PrivateDatabaseServer.postgres { server, url in
            try await TestPostgres.withStore(url, operationTimeout: .seconds(2)) { store in
                let campaign = try CampaignID(validating: "a")
                try await store.write([.createCampaign(try Fixture.campaign("a"))])
                try await server.halt()

                let clock = ContinuousClock()
                let started = clock.now
                let error = try await #require(throws: CouponStoreError.self) {
                    try await store.write([.insertCoupon(try Fixture.coupon("a", user: 1, sequence: 1))])
                }
                // Bounded by the 2 s operation timeout, not the pool's 60 s circuit breaker.
                #expect(clock.now - started < .seconds(10))
                #expect(error.message.contains("write of 1 change"))
                await #expect(throws: CouponStoreError.self) { try await store.ping() }

                try await server.start()
                // The pool reconnects on its own backoff schedule; retry for a bounded while.
                let recovered = try await Self.retry(for: .seconds(60)) {
                    try await store.write([.insertCoupon(try Fixture.coupon("a", user: 2, sequence: 2))])
                }
                #expect(recovered)
                #expect(try await store.coupons(of: campaign) == [try Fixture.coupon("a", user: 2, sequence: 2)])
            }
        }
    }

    // MARK: Helpers

    struct MigrationRow: Equatable {
        var version: Int64
        var appliedAt: Int64
    }

    static func migrationRows(_ url: PostgresURL) async throws -> [MigrationRow] {
        try await TestPostgres.withClient(url) { client in
            var rows: [MigrationRow] = []
            let result = try await client.query("SELECT version, applied_at FROM schema_migrations ORDER BY version", logger: TestPostgres.logger)
            for try await (version, appliedAt) in result.decode((Int64, Int64).self) {
                rows.append(MigrationRow(version: version, appliedAt: appliedAt))
            }
            return rows
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
