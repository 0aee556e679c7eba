/// One step of a load profile: hold `vus` virtual users (or, in the open model, at most
/// that many connections) for `duration`.
public struct Stage: Sendable, Hashable, CustomStringConvertible {
    public var vus: Int
    public var duration: Duration

    public init(vus: Int, duration: Duration) {
        self.vus = vus
        self.duration = duration
    }

    public var description: String { "\(vus):\(Stage.format(duration))" }

    /// Parses `10:90s,50:90s` (durations in `ms`, `s`, `m` or `h`).
    public static func parseList(_ text: String) throws(LoadGenError) -> [Stage] {
        let parts = text.split(separator: ",", omittingEmptySubsequences: false)
        var stages: [Stage] = []
        for part in parts {
            let fields = part.split(separator: ":", omittingEmptySubsequences: false)
            guard fields.count == 2 else {
                throw LoadGenError.badStages("stage '\(part)' is not VUS:DURATION, e.g. 50:90s")
            }
            guard let vus = Int(fields[0]), vus >= 1, vus <= 100_000 else {
                throw LoadGenError.badStages("stage '\(part)': VUs must be a whole number from 1 to 100000")
            }
            let duration = try parseDuration(fields[1], in: String(part))
            stages.append(Stage(vus: vus, duration: duration))
        }
        return stages
    }

    static func parseDuration(_ text: Substring, in stage: String) throws(LoadGenError) -> Duration {
        let units: [(suffix: String, milliseconds: Double)] = [("ms", 1), ("s", 1000), ("m", 60_000), ("h", 3_600_000)]
        for unit in units where text.hasSuffix(unit.suffix) {
            let number = text.dropLast(unit.suffix.count)
            guard let value = Double(number), value > 0, value.isFinite else { break }
            let milliseconds = value * unit.milliseconds
            guard milliseconds <= 86_400_000 else {
                throw LoadGenError.badStages("stage '\(stage)': a stage lasts at most 24h")
            }
            return .milliseconds(Int64(milliseconds.rounded()))
        }
        throw LoadGenError.badStages("stage '\(stage)': duration '\(text)' must be a positive number with ms, s, m or h")
    }

    static func format(_ duration: Duration) -> String {
        let milliseconds = duration.milliseconds
        if milliseconds % 1000 == 0 { return "\(milliseconds / 1000)s" }
        return "\(milliseconds)ms"
    }
}

extension Duration {
    var milliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }

    var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}
