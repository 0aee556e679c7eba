import CouponCore
import SQLiteNIO

/// The statements of a write batch on the SQLite writer connection, inside `BEGIN IMMEDIATE`.
struct SQLiteTransaction: StoreTransaction {
    let db: SQLiteConnection

    func insert(_ coupons: [Coupon]) async throws {
        guard !coupons.isEmpty else { return }
        var sql = "INSERT INTO coupons (campaign_id, user_id, sequence, issued_at) VALUES "
        var binds: [SQLiteData] = []
        binds.reserveCapacity(coupons.count * 4)
        for (index, coupon) in coupons.enumerated() {
            sql += index == 0 ? "(?, ?, ?, ?)" : ", (?, ?, ?, ?)"
            binds.append(.text(coupon.campaignID.rawValue))
            binds.append(.integer(Int(coupon.userID.rawValue)))
            binds.append(.integer(Int(coupon.sequence)))
            binds.append(.integer(Int(coupon.issuedAt.millisecondsSince1970)))
        }
        sql += " ON CONFLICT DO NOTHING"
        _ = try await self.db.query(sql, binds)
    }

    func create(_ campaign: Campaign) async throws {
        let inserted = try await self.db.query(
            """
            INSERT INTO campaigns (id, name, coupon_limit, starts_at, ends_at, created_at, epoch) VALUES (?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (id) DO NOTHING RETURNING id
            """,
            [
                .text(campaign.id.rawValue), .text(campaign.name), .integer(Int(campaign.limit)),
                campaign.startsAt.map { .integer(Int($0.millisecondsSince1970)) } ?? .null,
                campaign.endsAt.map { .integer(Int($0.millisecondsSince1970)) } ?? .null,
                .integer(Int(campaign.createdAt.millisecondsSince1970)), .integer(Int(campaign.epoch)),
            ]
        )
        if inserted.isEmpty { throw CouponStoreError.campaignExists(campaign.id) }
    }

    func deleteCoupons(of campaign: CampaignID) async throws {
        _ = try await self.db.query("DELETE FROM coupons WHERE campaign_id = ?", [.text(campaign.rawValue)])
    }

    /// No row lock needed: BEGIN IMMEDIATE already holds SQLite's single write lock.
    func epoch(of campaign: CampaignID) async throws -> Int64 {
        let rows = try await self.db.query("SELECT epoch FROM campaigns WHERE id = ?", [.text(campaign.rawValue)])
        guard let epoch = rows.first?.column("epoch")?.integer else {
            throw CouponStoreError("campaign '\(campaign)' does not exist")
        }
        return Int64(epoch)
    }

    func setEpoch(_ epoch: Int64, of campaign: CampaignID) async throws {
        _ = try await self.db.query("UPDATE campaigns SET epoch = ? WHERE id = ?", [.integer(Int(epoch)), .text(campaign.rawValue)])
    }
}
