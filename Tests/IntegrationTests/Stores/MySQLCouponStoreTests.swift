import CouponCore
import CouponMySQL
import CouponStore
import CouponTestSupport
import Foundation
import Testing

extension IntegrationTests {
    /// MySQL/MariaDB-only behaviour: connections, deadlines and failures. The shared contract
    /// is in ``CouponStoreContractTests``, migrations and restarts in ``DatabaseOfRecordTests``.
    @Suite struct MySQLCouponStoreTests {
        @Test func aFailedWriteNamesTheStepAndTheDatabaseButNotThePassword() async throws {
            try await TestMySQL.withDatabase { url in
                try await TestMySQL.withStore(url) { store in
                    // A coupon of a campaign that does not exist: the foreign key refuses it (never silently skipped).
                    let error = try await #require(throws: CouponStoreError.self) {
                        try await store.write([.insertCoupon(try Fixture.coupon("ghost", user: 1, sequence: 1))])
                    }
                    #expect(error.message.contains("while inserting 1 coupons"), "\(error.message)")
                    #expect(error.message.contains("foreign key"), "\(error.message)")
                    #expect(error.message.contains(url.database), "\(error.message)")
                    if let password = url.password { #expect(!error.message.contains(password)) }
                    // The failed transaction was rolled back and the connection is usable again.
                    try await store.write([.createCampaign(try Fixture.campaign("a"))])
                    #expect(try await store.campaigns().count == 1)
                }
            }
        }

        @Test func connectsOverAUnixSocket() async throws {
            var socket = try TestMySQL.url("MYSQL_SOCKET_URL")
            guard case .unixSocket = socket.endpoint else {
                Issue.record("MYSQL_SOCKET_URL is not a socket URL: \(socket)")
                return
            }
            try await TestMySQL.withDatabase { url in
                socket.database = url.database
                try await TestMySQL.withStore(socket) { store in
                    try await store.write([.createCampaign(try Fixture.campaign("a")), .insertCoupon(try Fixture.coupon("a", user: 1, sequence: 1))])
                    #expect(try await store.coupons(heldBy: UserID(1)).count == 1)
                }
            }
        }

        @Test func aWrongPasswordIsAClearErrorWithoutThePassword() async throws {
            var url = try TestMySQL.url()
            url.password = "not-the-password"
            let error = try await #require(throws: CouponStoreError.self) {
                try await TestMySQL.withStore(url, operationTimeout: .seconds(2)) { _ in }
            }
            #expect(error.message.contains("Access denied"), "\(error.message)")
            #expect(error.message.contains("migration"), "\(error.message)")
            #expect(!error.message.contains("not-the-password"))
        }

        @Test func anUnreachableServerFailsAtOnceWithAClearError() async throws {
            var url = try TestMySQL.url()
            url.endpoint = .tcp(host: "127.0.0.1", port: try Self.closedPort())
            let clock = ContinuousClock()
            let started = clock.now
            let error = try await #require(throws: CouponStoreError.self) {
                try await TestMySQL.withStore(url, operationTimeout: .seconds(5)) { _ in }
            }
            #expect(clock.now - started < .seconds(3))
            #expect(error.message.contains("could not connect"), "\(error.message)")
            #expect(error.message.contains("Can't connect"), "\(error.message)")
        }

        @Test func tlsWithTheServersCertificateVerifiedConnects() async throws {
            try await TestMySQL.withDatabase { url in
                var verified = url
                verified.sslMode = .verifyIdentity
                verified.tlsFiles.ca = try TestMySQL.certificateAuthority()
                try await TestMySQL.withStore(verified) { store in
                    try await store.write([.createCampaign(try Fixture.campaign("a"))])
                    #expect(try await store.campaigns().count == 1)
                }
                // Encrypted without checking the certificate.
                var required = url
                required.sslMode = .required
                try await TestMySQL.withStore(required) { store in try await store.ping() }
            }
        }

        @Test func aCertificateFromAnotherAuthorityIsRefused() async throws {
            var url = try TestMySQL.url()
            url.sslMode = .verifyIdentity
            url.tlsFiles.ca = try TestMySQL.certificateAuthority("MYSQL_TLS_OTHER_CA")
            let error = try await #require(throws: CouponStoreError.self) {
                try await TestMySQL.withStore(url, operationTimeout: .seconds(5)) { _ in }
            }
            #expect(error.message.contains("certificate"), "\(error.message)")
            #expect(error.message.contains("error 2026"), "\(error.message)")
        }

        /// Connector/C 3.3 would quietly go on in plain text here; the store refuses.
        @Test func requiringTLSFromAServerWithoutItIsRefused() async throws {
            try await PrivateDatabaseServer.mysql(tls: false) { _, server in
                var url = server
                url.sslMode = .required
                let error = try await #require(throws: CouponStoreError.self) {
                    try await TestMySQL.withStore(url, operationTimeout: .seconds(5)) { _ in }
                }
                #expect(error.message.contains("did not encrypt"), "\(error.message)")
                // The same server without TLS asked for is fine.
                try await TestMySQL.withStore(server, operationTimeout: .seconds(5)) { store in try await store.ping() }
            }
        }

        /// A statement blocked past the deadline (another session holds the table) fails in time, and the
        /// store works again once the lock is gone.
        @Test func aStatementPastTheDeadlineIsCutAndTheStoreGoesOn() async throws {
            try await TestMySQL.withDatabase { url in
                try await TestMySQL.withStore(url, operationTimeout: .seconds(2)) { store in
                    try await store.write([.createCampaign(try Fixture.campaign("a"))])
                    let clock = ContinuousClock()
                    try await MySQLAdministration.holding(["LOCK TABLES coupons WRITE"], on: url) {
                        let started = clock.now
                        let error = try await #require(throws: CouponStoreError.self) {
                            try await store.write([.insertCoupon(try Fixture.coupon("a", user: 1, sequence: 1))])
                        }
                        #expect(clock.now - started < .seconds(5))
                        #expect(error.message.contains("did not finish within"), "\(error.message)")
                    }
                    try await store.write([.insertCoupon(try Fixture.coupon("a", user: 2, sequence: 2))])
                    #expect(try await store.coupons(of: CampaignID(validating: "a")).map(\.userID.rawValue) == [2])
                }
            }
        }

        /// More concurrent writers than connections: they queue for the few connections and all succeed.
        @Test func manyWritersShareASmallPool() async throws {
            try await TestMySQL.withDatabase { url in
                let store = MySQLCouponStore(configuration: .init(url: url, maximumConnections: 2), logger: TestMySQL.logger)
                try await store.withRunning {
                    try await store.write([.createCampaign(try Fixture.campaign("a", limit: 1000))])
                    try await withThrowingTaskGroup(of: Void.self) { group in
                        for user in 1...200 {
                            group.addTask {
                                try await store.write([.insertCoupon(try Fixture.coupon("a", user: Int64(user), sequence: Int64(user)))])
                            }
                        }
                        try await group.waitForAll()
                    }
                    #expect(try await store.coupons(of: CampaignID(validating: "a")).count == 200)
                }
            }
        }

        // MARK: Helpers

        /// A loopback port nothing listens on (bound, then closed again).
        static func closedPort() throws -> Int {
            let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            defer { close(descriptor) }
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            address.sin_port = 0
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            let bound = withUnsafeMutablePointer(to: &address) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { generic in
                    bind(descriptor, generic, length) == 0 && getsockname(descriptor, generic, &length) == 0
                }
            }
            guard bound else { throw CouponStoreError("could not bind a loopback port") }
            return Int(UInt16(bigEndian: address.sin_port))
        }
    }
}
