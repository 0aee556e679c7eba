import CouponCore
import Logging
import PostgresNIO

/// The statements of a write batch on one pooled connection, inside `BEGIN`
/// (``PostgresTransaction``). Values travel as bind parameters only.
struct PostgresStoreTransaction: StoreTransaction {
    let connection: PostgresConnection
    let logger: Logger

    func insert(_ coupons: [Coupon]) async throws {
        try await PostgresCouponStore.insert(coupons, strategy: PostgresCouponStore.insertStrategy, on: self.connection, logger: self.logger)
    }

    func create(_ campaign: Campaign) async throws {
        // A taken id fails the batch with its own code, as in the other stores (not a failed statement,
        // which would abort the transaction and read as an outage).
        let inserted = try await PostgresCouponStore.step("creating campaign '\(campaign.id)'") {
            let rows = try await self.connection.query(
                """
                INSERT INTO campaigns (id, name, coupon_limit, starts_at, ends_at, created_at, epoch)
                VALUES (\(campaign.id.rawValue), \(campaign.name), \(campaign.limit),
                        \(campaign.startsAt?.millisecondsSince1970), \(campaign.endsAt?.millisecondsSince1970),
                        \(campaign.createdAt.millisecondsSince1970), \(campaign.epoch))
                ON CONFLICT (id) DO NOTHING RETURNING id
                """,
                logger: self.logger
            )
            var inserted = false
            for try await _ in rows { inserted = true }
            return inserted
        }
        if !inserted { throw CouponStoreError.campaignExists(campaign.id) }
    }

    func deleteCoupons(of campaign: CampaignID) async throws {
        try await PostgresCouponStore.step("deleting the coupons of campaign '\(campaign)'") {
            _ = try await self.connection.query("DELETE FROM coupons WHERE campaign_id = \(campaign.rawValue)", logger: self.logger)
        }
    }

    /// Locks the campaign's row until the transaction ends, so a reset and a
    /// relay (or two relays) apply their epoch checks one at a time.
    func epoch(of campaign: CampaignID) async throws -> Int64 {
        try await PostgresCouponStore.step("reading the epoch of campaign '\(campaign)'") {
            let rows = try await self.connection.query("SELECT epoch FROM campaigns WHERE id = \(campaign.rawValue) FOR UPDATE", logger: self.logger)
            for try await epoch in rows.decode(Int64.self) {
                return epoch
            }
            throw CouponStoreError("campaign '\(campaign)' does not exist")
        }
    }

    func setEpoch(_ epoch: Int64, of campaign: CampaignID) async throws {
        try await PostgresCouponStore.step("moving campaign '\(campaign)' to epoch \(epoch)") {
            _ = try await self.connection.query("UPDATE campaigns SET epoch = \(epoch) WHERE id = \(campaign.rawValue)", logger: self.logger)
        }
    }
}
