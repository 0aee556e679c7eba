/// The database of record: campaigns and coupons.
///
/// Writes come in ordered batches so the embedded gate can group-commit many
/// winners at once, and so the relay can insert a stream batch in one
/// transaction. Inserting a coupon that exists already (same campaign and
/// user, or same campaign and sequence) does nothing: delivery may repeat.
public protocol CouponStore: Sendable {
    /// Applies `writes` in order, in one transaction: all of them or none.
    func write(_ writes: [StoreWrite]) async throws

    func campaigns() async throws -> [Campaign]
    /// The coupons of a campaign, by sequence.
    func coupons(of campaign: CampaignID) async throws -> [Coupon]
    /// The coupons a user holds, in all campaigns, by issue time.
    func coupons(heldBy user: UserID) async throws -> [Coupon]
    /// Cheap round trip proving the store answers.
    func ping() async throws
}

/// One change to the store.
public enum StoreWrite: Hashable, Sendable {
    case createCampaign(Campaign)
    case insertCoupon(Coupon)
    /// Deletes every coupon of the campaign.
    case resetCampaign(CampaignID)
    /// A coupon the relay read from the outbox, issued in Redis epoch `epoch`
    /// (the campaign's generation: a reset or re-creation starts a new one).
    /// Written only if the campaign's epoch here is `epoch`; an entry of a
    /// newer epoch first advances the campaign to it (see `advanceEpoch`), one
    /// of an older epoch — read before a reset — is dropped, so a late relay
    /// never puts a previous drop's coupon into the new one.
    case relayCoupon(Coupon, epoch: Int64)
    /// If the campaign's epoch is below `epoch`: deletes its coupons and sets
    /// the epoch. The database side of a reset in distributed mode.
    case advanceEpoch(CampaignID, to: Int64)
}
