/// A campaign with its live counts, as `GET /campaigns/{id}` shows it.
public struct CampaignStatus: Hashable, Sendable {
    public var campaign: Campaign
    public var issued: Int64

    public init(campaign: Campaign, issued: Int64) {
        self.campaign = campaign
        self.issued = issued
    }

    public var remaining: Int64 { max(0, self.campaign.limit - self.issued) }

    public func state(at instant: Timestamp) -> State {
        switch self.campaign.window(at: instant) {
        case .notOpenYet: .scheduled
        case .closed: .closed
        case .open: self.remaining == 0 ? .soldOut : .open
        }
    }

    public enum State: String, Hashable, Sendable {
        case scheduled
        case open
        case soldOut = "sold_out"
        case closed
    }
}
