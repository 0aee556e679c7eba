import CouponCore
import HTTPTypes
import NIOCore

/// Per-user and per-client-address limits on applies (`--rate-limit-user`,
/// `--rate-limit-client`), answered 429 with `Retry-After`. Off unless configured.
///
/// In memory, per instance: in distributed mode each instance enforces the limits on what
/// it receives (a client spread over N instances gets up to N times the rate); a shared
/// limit in Redis is not built yet (docs/RELIABILITY.md, "Not covered yet").
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
            return Self.limited("Too many applies from \(address)", wait: wait)
        }
        if let users, let wait = users.take(user) {
            return Self.limited("Too many applies for user \(user)", wait: wait)
        }
        return nil
    }

    private static func limited(_ what: String, wait: Duration) -> Problem {
        let seconds = max(1, Int(wait.components.seconds) + (wait.components.attoseconds > 0 ? 1 : 0))
        return Problem(
            .tooManyRequests,
            kind: "rate-limited",
            title: "Too many requests",
            detail: "\(what); retry in \(seconds) s.",
            retryAfter: seconds
        )
    }
}
