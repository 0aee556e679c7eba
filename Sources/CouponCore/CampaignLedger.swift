/// The admission state of one campaign: who won, with which sequence number.
///
/// A plain value with no I/O, so the gate's rules are tested without a store
/// and every gate (embedded, or the Redis gate's local cache) applies the same
/// rules in the same order: duplicate, window, limit.
public struct CampaignLedger: Sendable {
    /// A winner with the ticket of the write that records the coupon
    /// (0 when it was loaded from the store, so is recorded already).
    public struct Entry: Hashable, Sendable {
        public var coupon: Coupon
        public var ticket: UInt64
    }

    public private(set) var campaign: Campaign
    public private(set) var issued: Int64
    private var winners: [UserID: Entry]
    /// Idempotency key → the winner whose apply carried it.
    private var keys: [String: UserID] = [:]

    /// A ledger holding `coupons`, as loaded from the store.
    ///
    /// `issued` is the highest sequence, not the count: if a row were ever
    /// missing, a new winner must still not reuse its sequence number.
    public init(campaign: Campaign, coupons: some Sequence<Coupon> = []) {
        self.campaign = campaign
        self.winners = [:]
        self.issued = 0
        for coupon in coupons {
            self.winners[coupon.userID] = Entry(coupon: coupon, ticket: 0)
            self.issued = max(self.issued, coupon.sequence)
        }
    }

    public var status: CampaignStatus {
        CampaignStatus(campaign: self.campaign, issued: self.issued)
    }

    public var isSoldOut: Bool { self.issued >= self.campaign.limit }

    public func entry(for user: UserID) -> Entry? {
        self.winners[user]
    }

    /// Decides one apply.
    ///
    /// - Parameters:
    ///   - user: who applies.
    ///   - key: the request's idempotency key: recorded with a new winner; the same key again
    ///     answers the original win for that user, and `.idempotencyKeyReused` for another.
    ///   - now: the time of the apply, for the campaign window and the coupon.
    ///   - record: called with a new winner's coupon before the ledger changes;
    ///     returns the ticket of the write that will record it. If it throws,
    ///     nothing is admitted and the error propagates.
    /// - Returns: the outcome and, for a winner (new or earlier), the ticket of its write.
    public mutating func admit<Failure: Error>(
        _ user: UserID,
        key: String? = nil,
        at now: Timestamp,
        record: (Coupon) throws(Failure) -> UInt64
    ) throws(Failure) -> (outcome: ApplyOutcome, ticket: UInt64) {
        if let key, let owner = self.keys[key] {
            guard owner == user, let entry = self.winners[user] else { return (.idempotencyKeyReused, 0) }
            return (.replayed(entry.coupon), entry.ticket)
        }
        if let entry = self.winners[user] {
            return (.alreadyIssued(entry.coupon), entry.ticket)
        }
        switch self.campaign.window(at: now) {
        case .notOpenYet(let startsAt): return (.notOpenYet(startsAt), 0)
        case .closed(let endsAt): return (.closed(endsAt), 0)
        case .open: break
        }
        guard self.issued < self.campaign.limit else {
            return (.soldOut, 0)
        }
        let coupon = Coupon(campaignID: self.campaign.id, userID: user, sequence: self.issued + 1, issuedAt: now)
        let ticket = try record(coupon)
        self.issued += 1
        self.winners[user] = Entry(coupon: coupon, ticket: ticket)
        if let key { self.keys[key] = user }
        return (.issued(coupon), ticket)
    }

    /// Whether ``admit(_:key:at:record:)`` would answer sold out for `user` without a key: not a
    /// winner, the window open, every coupon issued. The same checks in the same order.
    public func isSoldOut(for user: UserID, at now: Timestamp) -> Bool {
        guard self.winners[user] == nil, case .open = self.campaign.window(at: now) else { return false }
        return self.issued >= self.campaign.limit
    }

    /// Forgets every winner, as `POST /admin/campaigns/{id}/reset` asks.
    public mutating func reset() {
        self.winners.removeAll(keepingCapacity: false)
        self.keys.removeAll(keepingCapacity: false)
        self.issued = 0
    }
}
