/// Which stage is in force at a moment of a phase: stages are steps, each holding its
/// VU level for its duration (the seed reports every ramp-up step at its level).
public struct StageSchedule: Sendable {
    public let stages: [Stage]
    /// Cumulative end of each stage, in nanoseconds since the phase started.
    public let ends: [Int64]

    public init(_ stages: [Stage]) {
        self.stages = stages
        var total: Int64 = 0
        ends = stages.map { stage in
            total += stage.duration.nanoseconds
            return total
        }
    }

    public var totalNanoseconds: Int64 { ends.last ?? 0 }

    /// The VU target at `elapsed` nanoseconds, or nil once the phase is over.
    public func vus(atNanoseconds elapsed: Int64) -> Int? {
        guard elapsed >= 0 else { return stages.first?.vus }
        for (index, end) in ends.enumerated() where elapsed < end {
            return stages[index].vus
        }
        return nil
    }

    /// How many of `total` VUs the event loop `index` of `count` runs: as even as possible,
    /// the first loops taking the remainder.
    public static func share(of total: Int, loop index: Int, of count: Int) -> Int {
        total / count + (index < total % count ? 1 : 0)
    }
}
