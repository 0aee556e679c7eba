/// A named load profile: the seed's four phases, or custom stages.
public struct LoadPhase: Sendable, Hashable {
    public var name: String
    public var stages: [Stage]

    public init(name: String, stages: [Stage]) {
        self.name = name
        self.stages = stages
    }

    /// The seed report's profiles exactly (section 4 of load-test-report.en.md).
    public static let baseline = LoadPhase(name: "baseline", stages: [Stage(vus: 10, duration: .seconds(60))])
    public static let rampup = LoadPhase(
        name: "rampup",
        stages: [10, 50, 100, 300, 500, 1000].map { Stage(vus: $0, duration: .seconds(90)) }
    )
    public static let stress = LoadPhase(name: "stress", stages: [Stage(vus: 300, duration: .seconds(300))])
    public static let spike = LoadPhase(
        name: "spike",
        stages: [
            Stage(vus: 10, duration: .seconds(60)),
            Stage(vus: 1000, duration: .seconds(60)),
            Stage(vus: 10, duration: .seconds(60)),
        ]
    )
    public static let seedPhases: [LoadPhase] = [.baseline, .rampup, .stress, .spike]

    /// `baseline`, `rampup`, `stress`, `spike`, or `all` (the four in the seed's order).
    public static func named(_ name: String) throws(LoadGenError) -> [LoadPhase] {
        switch name {
        case "all": return seedPhases
        case "baseline": return [.baseline]
        case "rampup": return [.rampup]
        case "stress": return [.stress]
        case "spike": return [.spike]
        default:
            throw LoadGenError.badOption("unknown phase '\(name)'; use baseline, rampup, stress, spike or all")
        }
    }

    public var duration: Duration { stages.reduce(.zero) { $0 + $1.duration } }
    public var maxVUs: Int { stages.map(\.vus).max() ?? 0 }

    /// Every stage's duration times `factor` (at least 100 ms), for quick runs.
    public func scaled(by factor: Double) -> LoadPhase {
        guard factor != 1 else { return self }
        let stages = stages.map { stage in
            let milliseconds = max(100, Int64((Double(stage.duration.milliseconds) * factor).rounded()))
            return Stage(vus: stage.vus, duration: .milliseconds(milliseconds))
        }
        return LoadPhase(name: name, stages: stages)
    }
}
