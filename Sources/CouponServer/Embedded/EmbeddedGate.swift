import CouponCore
import Synchronization

/// The gate of the embedded default: campaigns live in memory, coupons in the store.
///
/// Every decision is taken under one short lock with no `await` inside it;
/// a winner's coupon is queued for group commit under the same lock (so
/// queue order is admission order) and the answer waits for the commit with
/// the lock released. Sold out, not open and closed answers touch no I/O.
public final class EmbeddedGate: CouponGate {
    private let ledgers: Mutex<[CampaignID: CampaignLedger]>
    private let queue: CommitQueue
    private let store: any CouponStore
    private let clock: any WallClock

    init(ledgers: [CampaignID: CampaignLedger], queue: CommitQueue, store: any CouponStore, clock: any WallClock) {
        self.ledgers = Mutex(ledgers)
        self.queue = queue
        self.store = store
        self.clock = clock
    }

    /// Rebuilds the gate from what `store` holds: the same winners, the same counts.
    static func load(from store: any CouponStore, queue: CommitQueue, clock: any WallClock) async throws -> EmbeddedGate {
        var ledgers: [CampaignID: CampaignLedger] = [:]
        for campaign in try await store.campaigns() {
            ledgers[campaign.id] = CampaignLedger(campaign: campaign, coupons: try await store.coupons(of: campaign.id))
        }
        return EmbeddedGate(ledgers: ledgers, queue: queue, store: store, clock: clock)
    }

    public func isKnownSoldOut(user: UserID, campaign: CampaignID) -> Bool {
        let now = self.clock.now()
        return self.ledgers.withLock { $0[campaign]?.isSoldOut(for: user, at: now) ?? false }
    }

    /// Idempotency keys live in memory with the ledger: after a restart, a repeated request
    /// gets 409 with its coupon instead of the original 200.
    public func apply(user: UserID, campaign: CampaignID, client: String?, idempotencyKey: String?) async throws -> ApplyOutcome {
        let now = self.clock.now()
        let queue = self.queue
        let decision = try self.ledgers.withLock { ledgers throws(CouponError) in
            try ledgers[campaign]?.admit(user, key: idempotencyKey, at: now) { coupon throws(CouponError) in
                try queue.enqueue(.insertCoupon(coupon))
            }
        }
        guard let (outcome, ticket) = decision else {
            throw CouponError.unknownCampaign(campaign)
        }
        switch outcome {
        case .issued, .alreadyIssued, .replayed:
            // A winner (or a winner's retry) is answered only once the row is durable.
            try await queue.waitUntilCommitted(ticket)
        case .soldOut, .notOpenYet, .closed, .rateLimited, .idempotencyKeyReused:
            break
        }
        return outcome
    }

    public func status(of campaign: CampaignID) throws -> CampaignStatus {
        guard let status = self.ledgers.withLock({ $0[campaign]?.status }) else {
            throw CouponError.unknownCampaign(campaign)
        }
        return status
    }

    public func create(_ campaign: Campaign) async throws -> CampaignStatus {
        let queue = self.queue
        let (status, ticket) = try self.ledgers.withLock { ledgers throws(CouponError) in
            guard ledgers[campaign.id] == nil else {
                throw CouponError(.campaignExists, "A campaign with the id '\(campaign.id)' exists already.")
            }
            let ticket = try queue.enqueue(.createCampaign(campaign))
            let ledger = CampaignLedger(campaign: campaign)
            ledgers[campaign.id] = ledger
            return (ledger.status, ticket)
        }
        try await queue.waitUntilCommitted(ticket)
        return status
    }

    public func reset(_ campaign: CampaignID) async throws -> CampaignStatus {
        let queue = self.queue
        let result = try self.ledgers.withLock { ledgers throws(CouponError) -> (CampaignStatus, UInt64)? in
            guard var ledger = ledgers[campaign] else { return nil }
            // Queued under the lock: coupons admitted before the reset are deleted
            // with it, those admitted after it are written after the delete.
            let ticket = try queue.enqueue(.resetCampaign(campaign))
            ledger.reset()
            ledgers[campaign] = ledger
            return (ledger.status, ticket)
        }
        guard let (status, ticket) = result else {
            throw CouponError.unknownCampaign(campaign)
        }
        try await queue.waitUntilCommitted(ticket)
        return status
    }

    public func isReady() async -> Bool {
        (try? await self.store.ping()) != nil
    }
}
