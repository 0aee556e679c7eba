import Foundation

/// The charts over time drawn for each phase, as inline SVG (no scripts, no libraries).
public enum Chart: String, CaseIterable, Sendable {
    case throughput, latency, vus, status

    public var title: String {
        switch self {
        case .throughput: "requests per second"
        case .latency: "latency P50 / P95 / P99 (ms)"
        case .vus: "virtual users"
        case .status: "answers per second by status"
        }
    }

    struct Line {
        var name: String
        var color: String
        var values: [Double?]
    }

    func lines(_ phase: PhaseResult) -> [Line] {
        let series = phase.series
        switch self {
        case .throughput:
            return [Line(name: "req/s", color: "#1f77b4", values: series.map { Double($0.requests) })]
        case .latency:
            return [
                Line(name: "P50", color: "#2ca02c", values: series.map(\.latencyMs.p50)),
                Line(name: "P95", color: "#ff7f0e", values: series.map(\.latencyMs.p95)),
                Line(name: "P99", color: "#d62728", values: series.map(\.latencyMs.p99)),
            ]
        case .vus:
            return [Line(name: "VUs", color: "#9467bd", values: series.map { Double($0.vus) })]
        case .status:
            let colors = ["#2ca02c", "#1f77b4", "#7f7f7f", "#ff7f0e", "#d62728", "#8c564b", "#e377c2"]
            return StatusClass.allCases.compactMap { status in
                // Only statuses that occurred, so the legend stays readable.
                guard series.contains(where: { $0.status[status] > 0 }) else { return nil }
                return Line(name: status.heading, color: colors[status.rawValue], values: series.map { Double($0.status[status]) })
            }
        }
    }

    static let width = 560.0
    static let height = 220.0
    static let left = 56.0
    static let right = 12.0
    static let top = 28.0
    static let bottom = 30.0

    /// The chart; `standalone` adds the XML namespace a separate .svg file needs.
    public func svg(_ phase: PhaseResult, standalone: Bool) -> String {
        let lines = lines(phase)
        let count = max(phase.series.count, 2)
        let peak = lines.flatMap { $0.values.compactMap { $0 } }.max() ?? 0
        let yMax = Self.niceCeiling(peak)
        let plotWidth = Self.width - Self.left - Self.right
        let plotHeight = Self.height - Self.top - Self.bottom
        func x(_ index: Int) -> Double { Self.left + plotWidth * Double(index) / Double(count - 1) }
        func y(_ value: Double) -> Double { Self.top + plotHeight * (1 - value / yMax) }

        var svg = "<svg class=\"chart\" data-chart=\"\(rawValue)\" data-phase=\"\(Report.escape(phase.name))\""
        if standalone { svg += " xmlns=\"http://www.w3.org/2000/svg\"" }
        svg += " width=\"\(Int(Self.width))\" height=\"\(Int(Self.height))\" viewBox=\"0 0 \(Int(Self.width)) \(Int(Self.height))\""
        svg += " font-family=\"sans-serif\" font-size=\"11\">\n"
        svg += "<rect width=\"100%\" height=\"100%\" fill=\"#fff\"/>\n"
        svg +=
            "<text x=\"\(Self.left)\" y=\"16\" font-size=\"13\" font-weight=\"bold\">\(Report.escape(phase.name)): \(Report.escape(title))</text>\n"
        for step in 0...4 {
            let value = yMax * Double(step) / 4
            let lineY = y(value)
            svg +=
                "<line x1=\"\(Self.left)\" x2=\"\(Self.width - Self.right)\" y1=\"\(Self.format(lineY))\" y2=\"\(Self.format(lineY))\" stroke=\"#e5e5e5\"/>"
            svg += "<text x=\"\(Self.left - 6)\" y=\"\(Self.format(lineY + 4))\" text-anchor=\"end\">\(Self.label(value))</text>\n"
        }
        let ticks = Self.timeTicks(count)
        for tick in ticks {
            svg += "<text x=\"\(Self.format(x(tick)))\" y=\"\(Self.height - 10)\" text-anchor=\"middle\">\(tick)s</text>"
        }
        svg += "\n"
        var legendX = Self.width - Self.right
        for line in lines.reversed() {
            legendX -= 10 + Double(line.name.count) * 7
            svg += "<text x=\"\(Self.format(legendX))\" y=\"16\" fill=\"\(line.color)\">\(Report.escape(line.name))</text>"
        }
        svg += "\n"
        for line in lines {
            // A gap (a second with no answers) breaks the line instead of dropping it to zero.
            var segments: [[String]] = [[]]
            for (index, value) in line.values.enumerated() {
                if let value {
                    segments[segments.count - 1].append("\(Self.format(x(index))),\(Self.format(y(value)))")
                } else if !(segments.last?.isEmpty ?? true) {
                    segments.append([])
                }
            }
            for points in segments where !points.isEmpty {
                let shown = points.count == 1 ? points + points : points
                svg +=
                    "<polyline class=\"series\" data-name=\"\(Report.escape(line.name))\" fill=\"none\" stroke=\"\(line.color)\" stroke-width=\"1.5\" points=\"\(shown.joined(separator: " "))\"/>\n"
            }
        }
        svg += "</svg>"
        return svg
    }

    /// 1, 2 or 5 times a power of ten, at least `value` (and at least 1).
    static func niceCeiling(_ value: Double) -> Double {
        guard value > 1 else { return 1 }
        let magnitude = pow(10, floor(log10(value)))
        for factor in [1.0, 2, 5, 10] where factor * magnitude >= value {
            return factor * magnitude
        }
        return 10 * magnitude
    }

    static func timeTicks(_ count: Int) -> [Int] {
        let step = max(1, Int(niceCeiling(Double(count) / 6)))
        return Array(stride(from: 0, to: count, by: step))
    }

    static func label(_ value: Double) -> String {
        // 12.5k, not 12k: the grid is quarters of a round ceiling.
        func trimmed(_ number: Double) -> String {
            number == number.rounded() ? String(Int(number)) : String(format: "%.1f", number)
        }
        return value >= 1000 ? trimmed(value / 1000) + "k" : trimmed(value)
    }

    static func format(_ value: Double) -> String { String(format: "%.1f", value) }
}
