import CouponCore
import CouponStore
import CouponTestSupport
import Foundation
import Logging
import Testing

/// SQLite-only behaviour; what every store must do is in ``CouponStoreContractTests``.
@Suite struct SQLiteCouponStoreTests {
    let logger = Logger(label: "test")

    @discardableResult
    func withStore<T>(_ body: (SQLiteCouponStore, String) async throws -> T) async throws -> T {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("cg-store-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try await SQLiteCouponStore.open(directory: directory, logger: self.logger)
        do {
            let result = try await body(store, directory)
            await store.close()
            return result
        } catch {
            await store.close()
            throw error
        }
    }

    @Test func reopeningKeepsDataAndAppliesNoMigrationTwice() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("cg-store-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let first = try await SQLiteCouponStore.open(directory: directory, logger: self.logger)
        try await first.write([.createCampaign(try Fixture.campaign("a")), .insertCoupon(try Fixture.coupon("a", user: 3, sequence: 1))])
        await first.close()
        let second = try await SQLiteCouponStore.open(directory: directory, logger: self.logger)
        #expect(try await second.coupons(of: CampaignID(validating: "a")).count == 1)
        try await second.ping()
        await second.close()
    }

    @Test func aDatabaseFromANewerVersionIsRefused() async throws {
        try await self.withStore { _, directory in
            // Simulate a later coupongate having migrated this file further.
            let path = (directory as NSString).appendingPathComponent("coupongate.sqlite")
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = [
                "python3", "-c",
                "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute(\"INSERT INTO schema_migrations VALUES (999,'future',0)\"); c.commit()",
                path,
            ]
            try process.run()
            process.waitUntilExit()
            #expect(process.terminationStatus == 0)
            let error = try await #require(throws: CouponStoreError.self) {
                _ = try await SQLiteCouponStore.open(directory: directory, logger: self.logger)
            }
            #expect(error.message.contains("999"))
        }
    }

    @Test func anUnwritableDirectoryIsAClearError() async throws {
        let error = try await #require(throws: CouponStoreError.self) {
            _ = try await SQLiteCouponStore.open(directory: "/proc/coupongate-cannot-be-here", logger: self.logger)
        }
        #expect(error.message.contains("/proc/coupongate-cannot-be-here"))
    }
}
