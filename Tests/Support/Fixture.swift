import CouponCore

/// Values shared by the store tests.
public enum Fixture {
    public static let now = Timestamp(millisecondsSince1970: 1_700_000_000_000)

    public static func campaign(_ id: String, limit: Int64 = 10) throws -> Campaign {
        try Campaign(id: CampaignID(validating: id), name: id, limit: limit, createdAt: Self.now)
    }

    public static func coupon(_ campaign: String, user: Int64, sequence: Int64, issuedAt: Timestamp = Self.now) throws -> Coupon {
        Coupon(campaignID: try CampaignID(validating: campaign), userID: try UserID(user), sequence: sequence, issuedAt: issuedAt)
    }
}
