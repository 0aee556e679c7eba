/// Admits the first `limit` distinct users of a campaign and answers everyone else.
///
/// Implementations: the embedded gate (in-process, SQLite) and the Redis gate.
/// Both keep the five invariants of docs/DESIGN.md.
public protocol CouponGate: Sendable {
    /// Applies for a coupon: the one entry point, so no caller's client address or key is
    /// dropped by a shorter overload.
    /// - Parameters:
    ///   - client: the caller's address, which a gate that enforces per-client rate limits
    ///     counts (the Redis gate, in its script); nil when there is none.
    ///   - idempotencyKey: the request's `Idempotency-Key`: the first win it gets is recorded with
    ///     it, and the same key again answers that win (``ApplyOutcome/replayed(_:)``) for the same
    ///     user, ``ApplyOutcome/idempotencyKeyReused`` for another.
    /// - Returns: the outcome; every normal answer, sold out included, is a value.
    /// - Throws: ``CouponError/unknownCampaign`` or ``CouponError/storeUnavailable``.
    func apply(user: UserID, campaign: CampaignID, client: String?, idempotencyKey: String?) async throws -> ApplyOutcome

    /// Whether ``apply(user:campaign:client:idempotencyKey:)`` for this user, without an idempotency
    /// key, would answer sold out, known from memory alone (the embedded ledger, or distributed
    /// mode's sold-out cache); false when only asking the gate's store would tell. It must not block:
    /// the sold-out fast path calls it on an event loop.
    func isKnownSoldOut(user: UserID, campaign: CampaignID) -> Bool

    /// The campaign with its live counts.
    func status(of campaign: CampaignID) async throws -> CampaignStatus

    /// Creates a campaign. Throws ``CouponError/campaignExists`` if the id is taken.
    func create(_ campaign: Campaign) async throws -> CampaignStatus

    /// Empties a campaign: no winners, nothing issued, as if just created.
    func reset(_ campaign: CampaignID) async throws -> CampaignStatus

    /// Whether the gate can admit users now (its stores are reachable).
    func isReady() async -> Bool
}

extension CouponGate {
    /// An apply with no client address and no idempotency key (tests, tools; never an HTTP request).
    public func apply(user: UserID, campaign: CampaignID) async throws -> ApplyOutcome {
        try await self.apply(user: user, campaign: campaign, client: nil, idempotencyKey: nil)
    }
}
