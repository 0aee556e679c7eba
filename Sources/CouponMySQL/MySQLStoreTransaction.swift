import CouponCore
import CouponStore

/// The statements of a write batch on one leased connection, inside a transaction
/// (``MySQLSession/transaction(attempts:_:)``). Values travel as bound parameters only.
struct MySQLStoreTransaction: StoreTransaction {
    let session: MySQLSession

    /// Inserts `coupons` in one multi-row statement.
    ///
    /// `ON DUPLICATE KEY UPDATE` with a no-op assignment, rather than `INSERT IGNORE`: both skip a row
    /// whose (campaign, user) or (campaign, sequence) exists, but `IGNORE` also turns other errors
    /// (a coupon of a missing campaign, a value out of range) into warnings, dropping the row silently.
    func insert(_ coupons: [Coupon]) async throws {
        guard !coupons.isEmpty else { return }
        var sql = "INSERT INTO coupons (campaign_id, user_id, sequence, issued_at) VALUES "
        sql.reserveCapacity(sql.utf8.count + coupons.count * 16 + 48)
        var parameters: [MySQLValue] = []
        parameters.reserveCapacity(coupons.count * 4)
        for (index, coupon) in coupons.enumerated() {
            sql += index == 0 ? "(?, ?, ?, ?)" : ", (?, ?, ?, ?)"
            parameters.append(.text(coupon.campaignID.rawValue))
            parameters.append(.int(coupon.userID.rawValue))
            parameters.append(.int(coupon.sequence))
            parameters.append(.int(coupon.issuedAt.millisecondsSince1970))
        }
        sql += " ON DUPLICATE KEY UPDATE user_id = user_id"
        try await self.session.run("inserting \(coupons.count) coupons", sql, parameters)
    }

    func create(_ campaign: Campaign) async throws {
        // A taken id fails the batch with its own code, as in the other stores: with the no-op update
        // a duplicate affects no row (and is not an error that reads as an outage).
        let affected = try await self.session.run(
            "creating campaign '\(campaign.id)'",
            """
            INSERT INTO campaigns (id, name, coupon_limit, starts_at, ends_at, created_at, epoch)
            VALUES (?, ?, ?, ?, ?, ?, ?)
            ON DUPLICATE KEY UPDATE id = id
            """,
            [
                .text(campaign.id.rawValue), .text(campaign.name), .int(campaign.limit),
                campaign.startsAt.map { .int($0.millisecondsSince1970) } ?? .null,
                campaign.endsAt.map { .int($0.millisecondsSince1970) } ?? .null,
                .int(campaign.createdAt.millisecondsSince1970), .int(campaign.epoch),
            ]
        )
        if affected == 0 { throw CouponStoreError.campaignExists(campaign.id) }
    }

    func deleteCoupons(of campaign: CampaignID) async throws {
        try await self.session.run(
            "deleting the coupons of campaign '\(campaign)'",
            "DELETE FROM coupons WHERE campaign_id = ?",
            [.text(campaign.rawValue)]
        )
    }

    /// Locks the campaign's row until the transaction ends, so a reset and a
    /// relay (or two relays) apply their epoch checks one at a time.
    func epoch(of campaign: CampaignID) async throws -> Int64 {
        let rows = try await self.session.query(
            "reading the epoch of campaign '\(campaign)'",
            "SELECT epoch FROM campaigns WHERE id = ? FOR UPDATE",
            [.text(campaign.rawValue)],
            columns: [.int]
        )
        guard let epoch = rows.first?.first?.int else { throw CouponStoreError("campaign '\(campaign)' does not exist") }
        return epoch
    }

    func setEpoch(_ epoch: Int64, of campaign: CampaignID) async throws {
        try await self.session.run(
            "moving campaign '\(campaign)' to epoch \(epoch)",
            "UPDATE campaigns SET epoch = ? WHERE id = ?",
            [.int(epoch), .text(campaign.rawValue)]
        )
    }
}
