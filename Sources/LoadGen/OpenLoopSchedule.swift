/// The open model's clock: requests are due at fixed intervals whether or not earlier ones
/// were answered. A request that waits for a free connection keeps its intended time, so
/// its latency includes the wait — no coordinated omission.
public struct OpenLoopSchedule: Sendable {
    /// Nanoseconds between intended sends.
    public let interval: Double
    private var next: Double
    private var pending: [Int64] = []
    private var head = 0

    /// `rate` requests per second, the first due at `start`.
    public init(rate: Double, start: Int64) {
        interval = 1_000_000_000 / rate
        next = Double(start)
    }

    /// Moves the clock to `now`: every send due by then joins the queue, at most `budget`.
    /// Returns how many joined.
    public mutating func advance(to now: Int64, budget: Int) -> Int {
        var added = 0
        while next <= Double(now), added < budget {
            pending.append(Int64(next))
            next += interval
            added += 1
        }
        return added
    }

    public var waiting: Int { pending.count - head }

    /// The oldest intended time still waiting for a connection.
    public mutating func take() -> Int64? {
        guard head < pending.count else { return nil }
        let value = pending[head]
        head += 1
        if head > 4096, head * 2 > pending.count {
            pending.removeFirst(head)
            head = 0
        }
        return value
    }

    /// Empties the queue (the phase is over); returns how many never went.
    public mutating func drain() -> Int {
        let count = waiting
        pending.removeAll()
        head = 0
        return count
    }
}
