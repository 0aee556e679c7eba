import CouponCore

/// The primitive steps of a write batch, inside one open transaction.
///
/// Each store implements these few statements; ``apply(_:rowsPerInsert:)``
/// holds the batch semantics (order, batched inserts, epochs) once for both.
package protocol StoreTransaction {
    /// Inserts coupons, ignoring any that exist (same campaign and user, or same campaign and sequence).
    func insert(_ coupons: [Coupon]) async throws
    /// Inserts a campaign; fails if the id exists.
    func create(_ campaign: Campaign) async throws
    func deleteCoupons(of campaign: CampaignID) async throws
    /// The campaign's epoch; a store that can lock the row for the rest of the transaction does.
    func epoch(of campaign: CampaignID) async throws -> Int64
    func setEpoch(_ epoch: Int64, of campaign: CampaignID) async throws
}

extension StoreTransaction {
    /// Applies `writes` in order, buffering consecutive coupons into multi-row inserts.
    package func apply(_ writes: [StoreWrite], rowsPerInsert: Int) async throws {
        var pending: [Coupon] = []
        var epochs: [CampaignID: Int64] = [:]

        func flush() async throws {
            guard !pending.isEmpty else { return }
            try await self.insert(pending)
            pending.removeAll(keepingCapacity: true)
        }
        func add(_ coupon: Coupon) async throws {
            pending.append(coupon)
            if pending.count >= rowsPerInsert { try await flush() }
        }
        /// Moves the campaign to `epoch` if it is behind (deleting its earlier rows); returns the epoch it had.
        func advance(_ campaign: CampaignID, to epoch: Int64) async throws -> Int64 {
            let current: Int64
            if let known = epochs[campaign] {
                current = known
            } else {
                current = try await self.epoch(of: campaign)
            }
            epochs[campaign] = max(current, epoch)
            if epoch > current {
                try await flush()
                try await self.deleteCoupons(of: campaign)
                try await self.setEpoch(epoch, of: campaign)
            }
            return current
        }

        for write in writes {
            switch write {
            case .insertCoupon(let coupon):
                try await add(coupon)
            case .relayCoupon(let coupon, let epoch):
                // Older than the campaign: read before a reset, so not part of this drop.
                if try await advance(coupon.campaignID, to: epoch) <= epoch {
                    try await add(coupon)
                }
            case .advanceEpoch(let campaign, let epoch):
                _ = try await advance(campaign, to: epoch)
            case .createCampaign(let campaign):
                try await flush()
                try await self.create(campaign)
            case .resetCampaign(let campaign):
                try await flush()
                try await self.deleteCoupons(of: campaign)
            }
        }
        try await flush()
    }
}
