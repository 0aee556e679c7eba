/// A coupon drop: up to `limit` coupons, optionally only between `startsAt` and `endsAt`.
public struct Campaign: Hashable, Sendable {
    /// The largest limit a campaign may have.
    public static let maximumLimit: Int64 = 100_000_000
    public static let maximumNameLength = 200

    public var id: CampaignID
    public var name: String
    public var limit: Int64
    /// Applies before this instant answer "not open yet".
    public var startsAt: Timestamp?
    /// Applies at or after this instant answer "closed".
    public var endsAt: Timestamp?
    public var createdAt: Timestamp
    /// The campaign's generation in distributed mode, bumped by every reset
    /// (see ``StoreWrite/advanceEpoch(_:to:)``); 0 in the embedded default.
    public var epoch: Int64 = 0

    /// - Throws: ``CouponError/invalidCampaign`` naming the first field that is out of range.
    public init(
        id: CampaignID,
        name: String,
        limit: Int64,
        startsAt: Timestamp? = nil,
        endsAt: Timestamp? = nil,
        createdAt: Timestamp
    ) throws(CouponError) {
        guard (1...Self.maximumLimit).contains(limit) else {
            throw CouponError(.invalidCampaign, "limit must be between 1 and \(Self.maximumLimit); got \(limit).")
        }
        guard !name.isEmpty, name.count <= Self.maximumNameLength else {
            throw CouponError(.invalidCampaign, "name must be 1 to \(Self.maximumNameLength) characters; got \(name.count).")
        }
        if let startsAt, let endsAt, endsAt <= startsAt {
            throw CouponError(.invalidCampaign, "endsAt (\(endsAt)) must be later than startsAt (\(startsAt)).")
        }
        self.id = id
        self.name = name
        self.limit = limit
        self.startsAt = startsAt
        self.endsAt = endsAt
        self.createdAt = createdAt
    }

    /// Where `instant` falls in the campaign's window.
    public func window(at instant: Timestamp) -> Window {
        if let startsAt, instant < startsAt { return .notOpenYet(startsAt) }
        if let endsAt, instant >= endsAt { return .closed(endsAt) }
        return .open
    }

    public enum Window: Hashable, Sendable {
        case notOpenYet(Timestamp)
        case open
        case closed(Timestamp)
    }
}
