/// The attempts at one command sent to a cluster: after each failure, it decides whether to send the command again,
/// where, and when, or to give up.
///
/// It is told only of failures after which the command cannot have run: a node refused it (MOVED, ASK, TRYAGAIN,
/// CLUSTERDOWN, LOADING, MASTERDOWN), or it was never written. A timeout or a connection lost after the write is
/// ambiguous (the command may have run): the client hands that to the caller and never asks this machine.
/// Retries are bounded twice: by `maximumRedirections` and by the command's deadline.
///
/// A plain value, like the connection's state machine: the cluster client carries out its actions.
struct ClusterCommandStateMachine {
    enum Action: Equatable {
        /// The slot moved for good: remember the new owner, refresh the slot map, and send there now.
        case moved(HashSlot, to: RedisConfiguration.Endpoint)
        /// Send once to this node, preceded by `ASKING` on the same connection; the slot map stays as it is.
        case ask(RedisConfiguration.Endpoint)
        /// Send again to the slot's owner after `delay`, refreshing the slot map first when asked to.
        case retry(after: Duration, refreshingMap: Bool)
        /// Give up: the command did not run, and this error (`.unavailable`) says why.
        case fail(RedisClientError)
    }

    struct Limits: Sendable {
        /// Resends allowed after the first send.
        var maximumRedirections: Int
        /// Pause before a retry of a refused or unsent command: `initial`, doubling up to `maximum`.
        var retryDelay: (initial: Duration, maximum: Duration)
        /// The command's whole deadline, from its first send.
        var commandTimeout: Duration
    }

    /// The command's name, for messages.
    let command: String
    /// The slot of its key; nil for a command with no key.
    let slot: HashSlot?
    let limits: Limits
    let deadline: ContinuousClock.Instant
    /// Resends so far.
    private(set) var redirections = 0
    /// Retries that paused so far (each pause doubles).
    private var pauses = 0
    /// What went wrong last, for the message if it gives up.
    private var lastProblem = ""

    init(command: String, slot: HashSlot?, limits: Limits, start: ContinuousClock.Instant) {
        self.command = command
        self.slot = slot
        self.limits = limits
        self.deadline = start + limits.commandTimeout
    }

    /// An attempt that starts with less time than this left would most likely time out, and a timeout closes
    /// the connection under every other command on it: such an attempt is not started.
    var minimumAttemptTime: Duration {
        self.limits.commandTimeout / 10
    }

    /// The deadline of the next attempt, as a timeout from `now`.
    func remaining(now: ContinuousClock.Instant) -> Duration {
        self.deadline - now
    }

    /// Whether an attempt may start at `now` (enough of the deadline is left).
    func maySend(now: ContinuousClock.Instant) -> Bool {
        self.remaining(now: now) >= self.minimumAttemptTime
    }

    // MARK: Events

    /// A node refused the command without running it.
    mutating func refused(_ redirection: ClusterRedirection, now: ContinuousClock.Instant) -> Action {
        switch redirection {
        case .moved(let slot, let endpoint):
            self.lastProblem = "slot \(slot) moved to \(endpoint)"
            return self.resend(.moved(slot, to: endpoint), now: now)
        case .ask(let slot, let endpoint):
            self.lastProblem = "slot \(slot) is migrating to \(endpoint) (ASK)"
            return self.resend(.ask(endpoint), now: now)
        case .retryLater(let refusal, let message):
            let slot = self.slot.map { "slot \($0)" }
            switch refusal {
            case .clusterDown:
                self.lastProblem = "\(slot.map { "no master owns \($0)" } ?? "the cluster is down") (\(message))"
            case .tryAgain:
                self.lastProblem = "\(slot.map { "\($0) is being resharded" } ?? "a resharding is under way") (\(message))"
            case .loading, .masterDown:
                self.lastProblem = "the node cannot serve \(slot ?? "commands") yet (\(message))"
            }
            // CLUSTERDOWN and MASTERDOWN may mean a failover: the new master is only found in a fresh map.
            return self.pause(refreshingMap: refusal == .clusterDown || refusal == .masterDown, now: now)
        }
    }

    /// The command was not written: no connection to the node is up (`.unavailable`), or the slot map names no
    /// node for it yet. `problem` says which.
    mutating func notSent(_ problem: String, now: ContinuousClock.Instant) -> Action {
        self.lastProblem = problem
        return self.pause(refreshingMap: true, now: now)
    }

    /// Why the command is given up when too little of its deadline is left to send it again.
    func deadlineError() -> RedisClientError {
        self.givingUp(atDeadline: true)
    }

    private mutating func resend(_ action: Action, now: ContinuousClock.Instant) -> Action {
        guard self.redirections < self.limits.maximumRedirections else {
            return .fail(self.givingUp())
        }
        guard self.maySend(now: now) else {
            return .fail(self.givingUp(atDeadline: true))
        }
        self.redirections += 1
        return action
    }

    private mutating func pause(refreshingMap: Bool, now: ContinuousClock.Instant) -> Action {
        guard self.redirections < self.limits.maximumRedirections else {
            return .fail(self.givingUp())
        }
        let wanted = min(self.limits.retryDelay.initial * (1 << min(self.pauses, 20)), self.limits.retryDelay.maximum)
        // Shortened rather than skipped when the deadline is near, as long as an attempt still fits after it.
        let delay = min(wanted, self.remaining(now: now) - self.minimumAttemptTime)
        guard delay >= .zero else {
            return .fail(self.givingUp(atDeadline: true))
        }
        self.redirections += 1
        self.pauses += 1
        return .retry(after: delay, refreshingMap: refreshingMap)
    }

    // MARK: Messages

    /// `.unavailable`: every attempt was refused or never written, so the command did not run.
    private func givingUp(atDeadline: Bool = false) -> RedisClientError {
        let target = self.slot.map { " (slot \($0))" } ?? ""
        let count = self.redirections + 1
        let attempts = "\(count) attempt\(count == 1 ? "" : "s")"
        let when = atDeadline ? "at its \(Self.milliseconds(self.limits.commandTimeout)) deadline after \(attempts)" : "after \(attempts)"
        return RedisClientError(.unavailable, message: "gave up on \(self.command)\(target) \(when): \(self.lastProblem)")
    }

    private static func milliseconds(_ duration: Duration) -> String {
        "\(Int((duration / .milliseconds(1)).rounded())) ms"
    }
}
