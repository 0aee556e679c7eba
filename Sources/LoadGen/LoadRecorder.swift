/// What one event loop saw during a phase. Each loop owns one (no locks on the hot
/// path); the phase merges them at the end.
public struct LoadRecorder: Sendable {
    public struct Second: Sendable {
        public var latency = LatencyHistogram(precise: false)
        public var status = StatusCounts()
        public var vus = 0
    }

    public private(set) var latency = LatencyHistogram()
    public private(set) var status = StatusCounts()
    public private(set) var seconds: [Second] = []
    public private(set) var sent = 0
    /// Open model only: intended sends the phase ended before it could start.
    public private(set) var dropped = 0
    /// The users that got a 200, to check that winners are distinct.
    public private(set) var winners: [Int64] = []
    /// Per stage of the phase, by completion time (the drain after the end counts in the last).
    public private(set) var stages: [Second]
    let startNanoseconds: Int64
    private let stageEnds: [Int64]
    private var stageCursor = 0

    /// `stageEnds`: each stage's end in nanoseconds since the phase started (none: one stage).
    public init(startNanoseconds: Int64, stageEnds: [Int64] = []) {
        self.startNanoseconds = startNanoseconds
        self.stageEnds = stageEnds
        stages = Array(repeating: Second(latency: LatencyHistogram()), count: max(1, stageEnds.count))
    }

    /// Completion times only move forward on one loop, so a cursor finds the stage.
    private mutating func stage(at nanoseconds: Int64) -> Int {
        let elapsed = nanoseconds - startNanoseconds
        while stageCursor < stages.count - 1, elapsed >= stageEnds[stageCursor] {
            stageCursor += 1
        }
        return stageCursor
    }

    private mutating func second(at nanoseconds: Int64) -> Int {
        let index = max(0, Int((nanoseconds - startNanoseconds) / 1_000_000_000))
        if index >= seconds.count {
            seconds.append(contentsOf: repeatElement(Second(), count: index + 1 - seconds.count))
        }
        return index
    }

    public mutating func recordSent() { sent += 1 }
    public mutating func recordDropped(_ count: Int) { dropped += count }

    /// An answer that completed at `now`, for a request meant to go at `intended`.
    public mutating func recordAnswer(status code: Int, user: Int64, intended: Int64, now: Int64) {
        let statusClass = StatusClass(status: code)
        let index = second(at: now)
        latency.record(nanoseconds: now - intended)
        seconds[index].latency.record(nanoseconds: now - intended)
        status[statusClass] += 1
        seconds[index].status[statusClass] += 1
        let stageIndex = stage(at: now)
        stages[stageIndex].latency.record(nanoseconds: now - intended)
        stages[stageIndex].status[statusClass] += 1
        if statusClass == .ok200 { winners.append(user) }
    }

    /// A request that got no HTTP answer: refused, reset, closed or timed out.
    public mutating func recordNetworkError(now: Int64) {
        let index = second(at: now)
        status[.network] += 1
        seconds[index].status[.network] += 1
        stages[stage(at: now)].status[.network] += 1
    }

    /// The VU level this loop ran during the second containing `now` (its highest).
    public mutating func recordVUs(_ vus: Int, now: Int64) {
        let index = second(at: now)
        seconds[index].vus = max(seconds[index].vus, vus)
    }

    /// Adds another loop's recording of the same phase.
    public mutating func merge(_ other: LoadRecorder) {
        latency.add(other.latency)
        status.add(other.status)
        sent += other.sent
        dropped += other.dropped
        winners += other.winners
        if other.seconds.count > seconds.count {
            seconds.append(contentsOf: repeatElement(Second(), count: other.seconds.count - seconds.count))
        }
        for (index, stage) in other.stages.enumerated() where index < stages.count {
            stages[index].latency.add(stage.latency)
            stages[index].status.add(stage.status)
        }
        for (index, second) in other.seconds.enumerated() {
            seconds[index].latency.add(second.latency)
            seconds[index].status.add(second.status)
            seconds[index].vus += second.vus
        }
    }
}
