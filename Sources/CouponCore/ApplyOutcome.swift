/// What an apply for a coupon came to. Every case is a normal answer, not an error.
public enum ApplyOutcome: Hashable, Sendable {
    /// The user won; the coupon is durable (committed, or in the outbox).
    case issued(Coupon)
    /// The user had already won this coupon earlier.
    case alreadyIssued(Coupon)
    /// The request repeats one whose idempotency key won this coupon: the original answer again.
    case replayed(Coupon)
    /// The idempotency key won a coupon for another user.
    case idempotencyKeyReused
    /// Every coupon has been issued.
    case soldOut
    /// The campaign opens at the given instant.
    case notOpenYet(Timestamp)
    /// The campaign closed at the given instant.
    case closed(Timestamp)
    /// The user or the client address is over its rate; retry after this many seconds.
    case rateLimited(retryAfterSeconds: Int)
}
