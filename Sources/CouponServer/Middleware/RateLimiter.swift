import CouponCore
import HTTPTypes
import NIOCore

/// Per-user and per-client-address limits on applies (`--rate-limit-user`,
/// `--rate-limit-client`), answered 429 with `Retry-After`. Off unless configured.
///
/// In memory, for the embedded default; in distributed mode the Redis gate enforces the same
/// limits in its script, shared by every instance, in the same round trip.
struct RateLimiter: Sendable {
    let users: TokenBuckets<UserID>?
    let clients: TokenBuckets<String>?

    init?(userRate: Double?, clientRate: Double?) {
        guard userRate != nil || clientRate != nil else { return nil }
        self.users = userRate.map { TokenBuckets(rate: $0, burst: $0) }
        self.clients = clientRate.map { TokenBuckets(rate: $0, burst: $0) }
    }

    /// Nil when the apply may go on, else the problem to answer.
    func check(user: UserID, client: SocketAddress?) -> Problem? {
        if let clients, let address = client?.ipAddress, let wait = clients.take(address) {
            return Problem.rateLimited("Too many applies from \(address)", retryAfter: Self.seconds(wait))
        }
        if let users, let wait = users.take(user) {
            return Problem.rateLimited("Too many applies for user \(user)", retryAfter: Self.seconds(wait))
        }
        return nil
    }

    private static func seconds(_ wait: Duration) -> Int {
        max(1, Int(wait.components.seconds) + (wait.components.attoseconds > 0 ? 1 : 0))
    }
}

extension Problem {
    /// 429 with `Retry-After`, from the in-memory limiter or the Redis gate.
    static func rateLimited(_ what: String, retryAfter seconds: Int) -> Problem {
        Problem(
            .tooManyRequests,
            kind: "rate-limited",
            title: "Too many requests",
            detail: "\(what); retry in \(seconds) s.",
            retryAfter: seconds
        )
    }
}
