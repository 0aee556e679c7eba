import CouponCore
import CouponStore
import CouponTestSupport
import Logging
import PostgresNIO
import Testing

extension IntegrationTests {
    /// PostgreSQL-only behaviour: connections and failures. The shared contract is in
    /// ``CouponStoreContractTests``, migrations and restarts in ``DatabaseOfRecordTests``.
    @Suite struct PostgresCouponStoreTests {
        @Test func aFailedWriteNamesTheStepAndTheDatabaseButNotThePassword() async throws {
            try await TestPostgres.withDatabase { url in
                try await TestPostgres.withStore(url) { store in
                    let error = try await #require(throws: CouponStoreError.self) {
                        try await store.write([.insertCoupon(try Fixture.coupon("ghost", user: 1, sequence: 1))])
                    }
                    #expect(error.code == .failed)
                    #expect(error.message.contains("inserting 1 coupons"), "\(error.message)")
                    #expect(error.message.contains("23503"))  // foreign_key_violation: no campaign 'ghost'
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
    }
}
