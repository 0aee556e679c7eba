import Histogram

/// Latencies in microseconds, from 1 µs to two minutes (longer ones are clamped; the
/// request timeout is shorter anyway).
public struct LatencyHistogram: Sendable {
    static let highestMicroseconds: UInt64 = 120_000_000
    public private(set) var histogram: Histogram<UInt64>
    public private(set) var sumMicroseconds: Double = 0

    public init(precise: Bool = true) {
        histogram = Histogram(
            highestTrackableValue: Self.highestMicroseconds,
            numberOfSignificantValueDigits: precise ? .three : .two
        )
    }

    public var count: Int { Int(histogram.totalCount) }

    public mutating func record(nanoseconds: Int64) {
        let microseconds = UInt64(max(1, min(Int64(Self.highestMicroseconds), nanoseconds / 1000)))
        histogram.record(microseconds)
        sumMicroseconds += Double(microseconds)
    }

    public mutating func add(_ other: LatencyHistogram) {
        histogram.add(other.histogram)
        sumMicroseconds += other.sumMicroseconds
    }

    /// Milliseconds at `percentile` (0...100), nil when empty.
    public func milliseconds(atPercentile percentile: Double) -> Double? {
        guard count > 0 else { return nil }
        return Double(histogram.valueAtPercentile(percentile)) / 1000
    }

    public var maxMilliseconds: Double? { count > 0 ? Double(histogram.max) / 1000 : nil }
    public var averageMilliseconds: Double? { count > 0 ? sumMicroseconds / Double(count) / 1000 : nil }
}
