/// One issued coupon: the `sequence`-th winner of a campaign.
public struct Coupon: Hashable, Sendable {
    public var campaignID: CampaignID
    public var userID: UserID
    /// 1…limit, in the order the gate admitted the winners.
    public var sequence: Int64
    public var issuedAt: Timestamp

    public init(campaignID: CampaignID, userID: UserID, sequence: Int64, issuedAt: Timestamp) {
        self.campaignID = campaignID
        self.userID = userID
        self.sequence = sequence
        self.issuedAt = issuedAt
    }
}
