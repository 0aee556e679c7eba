import CouponCore
import RESP

/// Compares what Redis says was issued with what the database holds, for one campaign.
///
/// Redis's winners hash is what clients were told (200/409); the database is
/// what the relay has written so far; the outbox holds what is on its way.
/// A winner missing from the database and from the outbox would be a lost
/// coupon; `repair` writes such rows (idempotently).
public struct Reconciler: Sendable {
    let redis: any RedisCommandSender
    let store: any CouponStore

    public init(redis: any RedisCommandSender, store: any CouponStore) {
        self.redis = redis
        self.store = store
    }

    public struct Report: Sendable, CustomStringConvertible {
        public var campaign: CampaignID
        /// The campaign's reset count in Redis: the epoch its current winners were issued in.
        public var epoch: Int64
        /// Redis's counter (sequence numbers handed out).
        public var issued: Int64
        public var redisWinners: Int
        public var databaseRows: Int
        /// Entries still in the outbox stream (not yet trimmed: pending or not yet delivered).
        public var outboxEntries: Int
        /// Winners whose row is not in the database yet but whose outbox entry is: the relay will write them.
        public var inFlight: [Coupon]
        /// Winners with no row and no outbox entry: lost unless repaired.
        public var missing: [Coupon]
        /// Rows for users Redis does not list as winners.
        public var unexpected: [Coupon]
        /// Rows whose sequence differs from Redis's for the same user.
        public var mismatched: [(redis: Coupon, database: Coupon)]
        /// Rows written by `repair`.
        public var repaired: Int

        /// True when the database agrees with Redis except for what is still in flight.
        public var isConsistent: Bool { self.missing.isEmpty && self.unexpected.isEmpty && self.mismatched.isEmpty }

        public var description: String {
            var lines = [
                "campaign \(self.campaign) (epoch \(self.epoch)): issued \(self.issued), Redis winners \(self.redisWinners), database rows \(self.databaseRows), "
                    + "outbox entries \(self.outboxEntries)"
            ]
            lines.append("  in flight (outbox, not yet in the database): \(self.inFlight.count)")
            lines.append("  missing (no row, no outbox entry): \(self.missing.count)\(self.repaired > 0 ? ", repaired \(self.repaired)" : "")")
            lines += self.missing.prefix(20).map { "    missing user \($0.userID) sequence \($0.sequence)" }
            lines.append("  unexpected rows (not a Redis winner): \(self.unexpected.count)")
            lines += self.unexpected.prefix(20).map { "    unexpected user \($0.userID) sequence \($0.sequence)" }
            lines.append("  mismatched sequences: \(self.mismatched.count)")
            lines += self.mismatched.prefix(20).map { "    user \($0.redis.userID): Redis \($0.redis.sequence), database \($0.database.sequence)" }
            lines.append(self.isConsistent ? "  consistent" : "  INCONSISTENT")
            return lines.joined(separator: "\n")
        }
    }

    public func reconcile(_ campaign: CampaignID, repair: Bool) async throws -> Report {
        let keys = RedisKeys(campaign)
        guard try await self.store.campaigns().contains(where: { $0.id == campaign }) else {
            throw CouponError.unknownCampaign(campaign)
        }
        let winners = try await self.redis.winners(keys)
        let issued = try await self.redis.send(RedisCommand("GET", [.string(keys.issued)])).int ?? 0
        let epoch = try await self.redis.send(RedisCommand("HGET", [.string(keys.meta), "epoch"])).int ?? 0
        let outbox = OutboxEntry.entries(in: try await self.redis.send(RedisCommand("XRANGE", [.string(keys.outbox), "-", "+"])))
        let queuedUsers = Set(outbox.flatMap { (try? $0.coupons(expecting: campaign).coupons.map(\.userID)) ?? [] })
        let rows = try await self.store.coupons(of: campaign)
        let rowsByUser = Dictionary(rows.map { ($0.userID, $0) }, uniquingKeysWith: { first, _ in first })

        var report = Report(
            campaign: campaign,
            epoch: epoch,
            issued: issued,
            redisWinners: winners.count,
            databaseRows: rows.count,
            outboxEntries: outbox.count,
            inFlight: [],
            missing: [],
            unexpected: [],
            mismatched: [],
            repaired: 0
        )
        for coupon in winners.values.sorted(by: { $0.sequence < $1.sequence }) {
            if let row = rowsByUser[coupon.userID] {
                if row.sequence != coupon.sequence { report.mismatched.append((coupon, row)) }
            } else if queuedUsers.contains(coupon.userID) {
                report.inFlight.append(coupon)
            } else {
                report.missing.append(coupon)
            }
        }
        report.unexpected = rows.filter { winners[$0.userID] == nil }
        if repair, !report.missing.isEmpty {
            try await self.store.write(report.missing.map { .relayCoupon($0, epoch: epoch) })
            report.repaired = report.missing.count
            report.missing = []
        }
        return report
    }
}
