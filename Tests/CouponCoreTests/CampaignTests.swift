import CouponCore
import Testing

@Suite struct CampaignTests {
    let start = Timestamp(millisecondsSince1970: 1_000_000)

    @Test(arguments: [Int64(0), -1, Campaign.maximumLimit + 1, Int64.max, Int64.min])
    func rejectsLimitsOutOfRange(limit: Int64) throws {
        let error = try #require(throws: CouponError.self) {
            try Campaign(id: .default, name: "x", limit: limit, createdAt: self.start)
        }
        #expect(error.code == .invalidCampaign)
        #expect(error.message.contains("limit"))
    }

    @Test func rejectsAnEmptyOrHugeName() throws {
        #expect(throws: CouponError.self) { try Campaign(id: .default, name: "", limit: 1, createdAt: self.start) }
        #expect(throws: CouponError.self) {
            try Campaign(id: .default, name: String(repeating: "n", count: 201), limit: 1, createdAt: self.start)
        }
    }

    @Test func rejectsAnEndNotAfterTheStart() throws {
        let error = try #require(throws: CouponError.self) {
            try Campaign(id: .default, name: "x", limit: 1, startsAt: self.start, endsAt: self.start, createdAt: self.start)
        }
        #expect(error.message.contains("endsAt"))
    }

    @Test func windowIsHalfOpen() throws {
        let end = Timestamp(millisecondsSince1970: 2_000_000)
        let campaign = try Campaign(id: .default, name: "x", limit: 1, startsAt: self.start, endsAt: end, createdAt: self.start)
        #expect(campaign.window(at: Timestamp(millisecondsSince1970: 999_999)) == .notOpenYet(self.start))
        #expect(campaign.window(at: self.start) == .open)
        #expect(campaign.window(at: Timestamp(millisecondsSince1970: 1_999_999)) == .open)
        #expect(campaign.window(at: end) == .closed(end))
    }
}
