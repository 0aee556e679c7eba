import CouponCore

/// The epochs of the campaigns one write batch touches, read once per batch.
///
/// Both stores apply ``StoreWrite/relayCoupon(_:epoch:)`` and
/// ``StoreWrite/advanceEpoch(_:to:)`` the same way: read the campaign's epoch
/// (inside the batch's transaction), advance it when an entry is newer, drop
/// entries that are older.
struct EpochTracker {
    private var epochs: [CampaignID: Int64] = [:]

    mutating func epoch(of campaign: CampaignID, reading read: (CampaignID) async throws -> Int64) async throws -> Int64 {
        if let epoch = self.epochs[campaign] { return epoch }
        let epoch = try await read(campaign)
        self.epochs[campaign] = epoch
        return epoch
    }

    mutating func set(_ epoch: Int64, for campaign: CampaignID) {
        self.epochs[campaign] = epoch
    }
}
