/// The seed report's figures per phase (load-test-report.en.md, section 4), printed beside
/// ours. Counts the seed did not give are nil.
public struct SeedFigures: Sendable {
    public var requestsPerSecond: Double
    public var avg: Double
    public var p50: Double
    public var p95: Double
    public var p99: Double
    public var max: Double
    public var ok200: Int?
    public var soldOut422: Int?
    public var server5xx: Int
    public var errorRate: String

    public static func forPhase(_ name: String) -> SeedFigures? {
        switch name {
        case "baseline":
            SeedFigures(
                requestsPerSecond: 2300,
                avg: 1.6,
                p50: 1.5,
                p95: 2.2,
                p99: 4.4,
                max: 264,
                ok200: 100,
                soldOut422: 84000,
                server5xx: 10,
                errorRate: "0.01%"
            )
        case "rampup":
            SeedFigures(
                requestsPerSecond: 4013,
                avg: 31.2,
                p50: 15.0,
                p95: 108.5,
                p99: 195.4,
                max: 500.7,
                ok200: nil,
                soldOut422: nil,
                server5xx: 3133,
                errorRate: "0.13%"
            )
        case "stress":
            SeedFigures(
                requestsPerSecond: 4242,
                avg: 11.8,
                p50: 8.6,
                p95: 32.2,
                p99: 60.9,
                max: 1550,
                ok200: nil,
                soldOut422: nil,
                server5xx: 2392,
                errorRate: "0.14%"
            )
        case "spike":
            SeedFigures(
                requestsPerSecond: 2959,
                avg: 72.4,
                p50: 65.1,
                p95: 195.2,
                p99: 291.8,
                max: 865,
                ok200: nil,
                soldOut422: nil,
                server5xx: 841,
                errorRate: "0.11%"
            )
        default:
            nil
        }
    }
}
