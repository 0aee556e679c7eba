import CouponCore
import CouponStore
import Foundation
import Logging
import Testing

@Suite struct SQLiteCouponStoreTests {
    let logger = Logger(label: "test")
    let now = Timestamp(millisecondsSince1970: 1_700_000_000_000)

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

    func campaign(_ id: String, limit: Int64 = 10) throws -> Campaign {
        try Campaign(id: CampaignID(validating: id), name: id, limit: limit, createdAt: self.now)
    }

    func coupon(_ campaign: String, user: Int64, sequence: Int64) throws -> Coupon {
        Coupon(campaignID: try CampaignID(validating: campaign), userID: try UserID(user), sequence: sequence, issuedAt: self.now)
    }

    @Test func writesAndReadsBack() async throws {
        try await self.withStore { store, _ in
            let start = Timestamp(millisecondsSince1970: 1_800_000_000_000)
            let windowed = try Campaign(
                id: CampaignID(validating: "w"),
                name: "Windowed",
                limit: 5,
                startsAt: start,
                endsAt: Timestamp(millisecondsSince1970: 1_900_000_000_000),
                createdAt: self.now
            )
            try await store.write([
                .createCampaign(try self.campaign("a")), .createCampaign(windowed),
                .insertCoupon(try self.coupon("a", user: 7, sequence: 1)),
                .insertCoupon(try self.coupon("a", user: 8, sequence: 2)),
                .insertCoupon(try self.coupon("w", user: 7, sequence: 1)),
            ])
            #expect(try await store.campaigns() == [try self.campaign("a"), windowed])
            #expect(try await store.coupons(of: CampaignID(validating: "a")).map(\.userID.rawValue) == [7, 8])
            #expect(try await store.coupons(heldBy: UserID(7)).map(\.campaignID.rawValue).sorted() == ["a", "w"])
            #expect(try await store.coupons(heldBy: UserID(9)).isEmpty)
        }
    }

    @Test func insertingACouponTwiceKeepsOneRow() async throws {
        try await self.withStore { store, _ in
            try await store.write([.createCampaign(try self.campaign("a")), .insertCoupon(try self.coupon("a", user: 7, sequence: 1))])
            // The relay may deliver an entry twice; the same user or the same sequence is ignored.
            try await store.write([
                .insertCoupon(try self.coupon("a", user: 7, sequence: 1)),
                .insertCoupon(try self.coupon("a", user: 7, sequence: 2)),
                .insertCoupon(try self.coupon("a", user: 9, sequence: 1)),
            ])
            let coupons = try await store.coupons(of: CampaignID(validating: "a"))
            #expect(coupons == [try self.coupon("a", user: 7, sequence: 1)])
        }
    }

    @Test func resetDeletesOneCampaignsCouponsInOrder() async throws {
        try await self.withStore { store, _ in
            try await store.write([
                .createCampaign(try self.campaign("a")), .createCampaign(try self.campaign("b")),
                .insertCoupon(try self.coupon("a", user: 1, sequence: 1)),
                .insertCoupon(try self.coupon("b", user: 1, sequence: 1)),
                .resetCampaign(try CampaignID(validating: "a")),
                // Written after the reset in the same batch, so it stays.
                .insertCoupon(try self.coupon("a", user: 2, sequence: 1)),
            ])
            #expect(try await store.coupons(of: CampaignID(validating: "a")).map(\.userID.rawValue) == [2])
            #expect(try await store.coupons(of: CampaignID(validating: "b")).count == 1)
        }
    }

    @Test func aFailingBatchWritesNothing() async throws {
        try await self.withStore { store, _ in
            try await store.write([.createCampaign(try self.campaign("a"))])
            await #expect(throws: CouponStoreError.self) {
                try await store.write([
                    .insertCoupon(try self.coupon("a", user: 1, sequence: 1)),
                    .createCampaign(try self.campaign("a")),  // exists: the whole batch fails
                ])
            }
            #expect(try await store.coupons(of: CampaignID(validating: "a")).isEmpty)
        }
    }

    @Test func aCouponOfAnUnknownCampaignIsRefused() async throws {
        try await self.withStore { store, _ in
            await #expect(throws: CouponStoreError.self) {
                try await store.write([.insertCoupon(try self.coupon("ghost", user: 1, sequence: 1))])
            }
        }
    }

    @Test func reopeningKeepsDataAndAppliesNoMigrationTwice() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("cg-store-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let first = try await SQLiteCouponStore.open(directory: directory, logger: self.logger)
        try await first.write([.createCampaign(try self.campaign("a")), .insertCoupon(try self.coupon("a", user: 3, sequence: 1))])
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
