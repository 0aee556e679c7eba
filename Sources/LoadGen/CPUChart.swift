/// Where a stack run's CPU went: one horizontal bar per phase, split by process (the seed's
/// bottleneck section, measured), as inline SVG.
enum CPUChart {
    static let colors = ["#7f7f7f", "#1f77b4", "#aec7e8", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf"]
    static let width = 560.0
    static let minimumLeft = 70.0
    static let right = 12.0
    static let barHeight = 22.0
    static let top = 48.0

    /// nil when no phase recorded CPU; `standalone` adds the XML namespace a separate .svg file needs.
    static func svg(_ results: LoadResults, standalone: Bool) -> String? {
        guard let processes = results.stack?.processes else { return nil }
        let phases = results.phases.compactMap { phase in phase.cpu.map { (phase.name, $0) } }
        guard !phases.isEmpty else { return nil }
        let totals = phases.map { $0.1.reduce(0) { $0 + $1.seconds } }
        let scale = Chart.niceCeiling(totals.max() ?? 1)
        // Room for the longest bar label ("postgres baseline" in a comparison).
        let left = max(Self.minimumLeft, Double(phases.map(\.0.count).max() ?? 0) * 6.5 + 10)
        let plotWidth = Self.width - left - Self.right
        // The legend wraps onto as many rows as it needs.
        var legend: [(x: Double, row: Int)] = []
        var legendX = left
        var legendRow = 0
        for name in processes {
            let itemWidth = 22 + Double(name.count) * 6.5
            if legendX + itemWidth > Self.width - Self.right, legendX > left {
                legendRow += 1
                legendX = left
            }
            legend.append((legendX, legendRow))
            legendX += itemWidth
        }
        let top = Self.top + Double(legendRow) * 16
        let height = top + Double(phases.count) * (Self.barHeight + 8) + 28
        var svg = "<svg class=\"chart\" data-chart=\"cpu\""
        if standalone { svg += " xmlns=\"http://www.w3.org/2000/svg\"" }
        svg += " width=\"\(Int(Self.width))\" height=\"\(Int(height))\" viewBox=\"0 0 \(Int(Self.width)) \(Int(height))\""
        svg += " font-family=\"sans-serif\" font-size=\"11\">\n<rect width=\"100%\" height=\"100%\" fill=\"#fff\"/>\n"
        svg += "<text x=\"\(left)\" y=\"16\" font-size=\"13\" font-weight=\"bold\">CPU seconds per process, by phase</text>\n"
        for (index, name) in processes.enumerated() {
            let (x, row) = legend[index]
            let y = 26 + Double(row) * 16
            svg += "<rect x=\"\(Chart.format(x))\" y=\"\(Chart.format(y))\" width=\"10\" height=\"10\" fill=\"\(Self.color(index))\"/>"
            svg += "<text x=\"\(Chart.format(x + 13))\" y=\"\(Chart.format(y + 9))\">\(Report.escape(name))</text>"
        }
        svg += "\n"
        for (row, (name, cpu)) in phases.enumerated() {
            let y = top + Double(row) * (Self.barHeight + 8)
            svg += "<text x=\"\(left - 6)\" y=\"\(Chart.format(y + 15))\" text-anchor=\"end\">\(Report.escape(name))</text>"
            var x = left
            for (index, process) in processes.enumerated() {
                let seconds = cpu.first(where: { $0.process == process })?.seconds ?? 0
                let barWidth = plotWidth * seconds / scale
                guard barWidth > 0 else { continue }
                svg +=
                    "<rect class=\"share\" data-process=\"\(Report.escape(process))\" x=\"\(Chart.format(x))\" y=\"\(Chart.format(y))\" "
                    + "width=\"\(Chart.format(barWidth))\" height=\"\(Self.barHeight)\" fill=\"\(Self.color(index))\">"
                    + "<title>\(Report.escape(process)): \(Report.number(seconds)) s</title></rect>"
                x += barWidth
            }
            svg += "<text x=\"\(Chart.format(x + 4))\" y=\"\(Chart.format(y + 15))\">\(Report.number(totals[row])) s</text>\n"
        }
        svg += "<text x=\"\(left)\" y=\"\(Chart.format(height - 8))\" fill=\"#666\">full width = \(Chart.label(scale)) CPU seconds</text>\n"
        return svg + "</svg>"
    }

    static func color(_ index: Int) -> String { Self.colors[index % Self.colors.count] }
}
