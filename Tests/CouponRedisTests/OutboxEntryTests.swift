import CouponCore
import Testing

@testable import CouponRedis

/// Reading outbox entries, both forms, and refusing what cannot be a coupon (no Redis needed).
@Suite struct OutboxEntryTests {
    private let campaign: CampaignID

    init() throws {
        self.campaign = try CampaignID(validating: "drop")
    }

    private func coupons(_ fields: [String: String]) throws(OutboxEntryError) -> (coupons: [Coupon], epoch: Int64) {
        try OutboxEntry(id: "1-0", fields: fields).coupons(expecting: self.campaign)
    }

    private func reason(_ fields: [String: String]) -> String? {
        do {
            _ = try self.coupons(fields)
            return nil
        } catch {
            return error.description
        }
    }

    @Test func anEntryOfOneCallHoldsConsecutiveSequences() throws {
        let (coupons, epoch) = try self.coupons(["campaign": "drop", "epoch": "4", "at": "1700000000123", "first": "41", "users": "7,3,900"])
        #expect(epoch == 4)
        #expect(coupons.map(\.userID.rawValue) == [7, 3, 900])
        #expect(coupons.map(\.sequence) == [41, 42, 43])
        #expect(coupons.allSatisfy { $0.issuedAt == Timestamp(millisecondsSince1970: 1_700_000_000_123) && $0.campaignID == self.campaign })
    }

    @Test func theOneCouponFormOfEarlierVersionsIsRead() throws {
        let (coupons, epoch) = try self.coupons(["campaign": "drop", "user": "12", "seq": "5", "at": "99", "epoch": "2"])
        #expect(coupons == [Coupon(campaignID: self.campaign, userID: try UserID(12), sequence: 5, issuedAt: Timestamp(millisecondsSince1970: 99))])
        #expect(epoch == 2)
    }

    @Test func whatCannotBeACouponIsRefusedWithItsReason() {
        let good = ["campaign": "drop", "epoch": "1", "at": "0", "first": "1", "users": "1,2"]
        func with(_ field: String, _ value: String?) -> [String: String] {
            var fields = good
            fields[field] = value
            return fields
        }
        #expect(self.reason(good) == nil)
        #expect(self.reason(with("campaign", "other"))?.contains("expected 'drop'") == true)
        #expect(self.reason(with("campaign", nil))?.contains("'campaign' is missing") == true)
        #expect(self.reason(with("at", "soon"))?.contains("'at'") == true)
        #expect(self.reason(with("users", nil))?.contains("'users' is missing") == true)
        #expect(self.reason(with("users", ""))?.contains("'users' is empty") == true)
        #expect(self.reason(with("users", "1,,2"))?.contains("'users'") == true, "an empty id")
        #expect(self.reason(with("users", "1,-2"))?.contains("'-2'") == true, "not a user id")
        #expect(self.reason(with("users", "1,abc"))?.contains("'abc'") == true)
        #expect(self.reason(with("first", "0"))?.contains("'first' is not a positive integer") == true)
        #expect(self.reason(with("first", nil))?.contains("'first'") == true)
        #expect(self.reason(with("first", String(Int64.max)))?.contains("overflows") == true)
        #expect(self.reason(["campaign": "drop", "user": "x", "seq": "1", "at": "0"])?.contains("'user'") == true)
        #expect(self.reason(["campaign": "drop", "user": "1", "seq": "-1", "at": "0"])?.contains("'seq'") == true)
    }
}
