import Foundation

/// Renders `results.json` as the seed's tables (terminal and Markdown) and as one
/// self-contained HTML page with SVG charts. Both generators' results render the same way.
public enum Report {
    static let headings =
        ["phase", "run", "TPS", "avg", "P50", "P95", "P99", "max"]
        + StatusClass.allCases.map(\.heading)

    /// One row for our phase and one for the seed's figures, when the seed ran that phase.
    static func rows(_ results: LoadResults) -> [[String]] {
        results.phases.flatMap { phase in
            [row(phase, run: results.generator, label: phase.name)] + (seedRow(phase.name, label: "").map { [$0] } ?? [])
        }
    }

    /// A phase's figures under the `headings`, labelled `label` and `run`.
    static func row(_ phase: PhaseResult, run: String, label: String) -> [String] {
        let totals = phase.totals
        let latency = totals.latencyMs
        return [label, run, number(totals.requestsPerSecond)]
            + [latency.avg, latency.p50, latency.p95, latency.p99, latency.max].map { $0.map(milliseconds) ?? "-" }
            + StatusClass.allCases.map { number(totals.status[$0]) }
    }

    /// The seed's figures for the phase `name` under the `headings` (run "seed"), if the seed ran it.
    static func seedRow(_ name: String, label: String) -> [String]? {
        SeedFigures.forPhase(name).map { seed in
            [label, "seed", "~" + number(seed.requestsPerSecond)]
                + [seed.avg, seed.p50, seed.p95, seed.p99, seed.max].map(milliseconds)
                + [
                    seed.ok200.map(number) ?? "-", "-", seed.soldOut422.map { "~" + number($0) } ?? "-", "-",
                    "\(number(seed.server5xx)) (\(seed.errorRate))", "-", "-",
                ]
        }
    }

    /// The tables for a terminal: latencies in ms, and the invariant check per phase.
    public static func terminal(_ results: LoadResults) -> String {
        var lines = aligned([headings] + rows(results), textColumns: 2)
        lines.append("latencies in ms; seed: Spring Boot + Redis + Kafka + MySQL on a MacBook Pro (load-test-report.en.md)")
        for phase in results.phases {
            guard let table = stageRows(phase) else { continue }
            lines.append("")
            lines.append("\(phase.name) by stage:")
            lines += aligned([stageHeadings] + table)
            if let recovery = recoveryLine(phase) { lines.append(recovery) }
        }
        if let cpu = cpuRows(results) {
            lines.append("")
            lines.append(stackLine(results) ?? "")
            lines.append(cpuNote + ":")
            lines += aligned(cpu)
        }
        lines += invariantLines(results)
        return lines.joined(separator: "\n") + "\n"
    }

    /// Columns padded to their widest cell, numbers to the right, with a rule under the headings.
    static func aligned(_ rows: [[String]], textColumns: Int = 1) -> [String] {
        let widths = rows[0].indices.map { column in rows.map { $0[column].count }.max() ?? 0 }
        var lines = rows.map { row in
            row.enumerated().map { column, cell in
                column < textColumns
                    ? cell.padding(toLength: widths[column], withPad: " ", startingAt: 0)
                    : String(repeating: " ", count: widths[column] - cell.count) + cell
            }.joined(separator: "  ")
        }
        lines.insert(widths.map { String(repeating: "-", count: $0) }.joined(separator: "  "), at: 1)
        return lines
    }

    static let stageHeadings = ["VUs", "seconds", "TPS", "avg", "P50", "P95", "P99", "max", "errors"]

    /// A row per stage, for phases of more than one (the seed discusses ramp-up and spike by step).
    static func stageRows(_ phase: PhaseResult) -> [[String]]? {
        guard let stages = phase.stageTotals, stages.count > 1 else { return nil }
        return stages.map { stage in
            let latency = stage.latencyMs
            return [String(stage.vus), number(stage.seconds), number(stage.requestsPerSecond)]
                + [latency.avg, latency.p50, latency.p95, latency.p99, latency.max].map { $0.map(milliseconds) ?? "-" }
                + [number(stage.status.errors)]
        }
    }

    /// After a stage that drops the VU level (the end of a spike): how long until a whole
    /// second's P99 is back within twice the first stage's P99 (or 1 ms of it).
    static func recoveryLine(_ phase: PhaseResult) -> String? {
        guard let stages = phase.stageTotals, let base = stages.first?.latencyMs.p99 else { return nil }
        var end = 0.0
        for (index, stage) in stages.enumerated() {
            end += stage.seconds
            guard index + 1 < stages.count, stages[index + 1].vus < stage.vus else { continue }
            let threshold = max(2 * base, base + 1)
            let first = Int(end.rounded(.down))
            guard let back = phase.series.first(where: { $0.second >= first && ($0.latencyMs.p99 ?? .infinity) <= threshold })
            else {
                return "recovery after \(stage.vus) VUs: P99 never came back within \(milliseconds(threshold)) ms"
            }
            let seconds = Double(back.second + 1) - end
            return "recovery after \(stage.vus) VUs: P99 back within \(milliseconds(threshold)) ms (2x the first stage's) "
                + "\(number(max(seconds, 0))) s after the drop"
        }
        return nil
    }

    static func invariantLines(_ results: LoadResults) -> [String] {
        results.phases.map { phase in
            let check = phase.invariants
            var issued = check.issued.map { ", issued \($0)" } ?? ""
            if let rows = check.databaseRows {
                issued += ", database rows \(rows)" + (check.drainSeconds.map { " (drained \(number($0)) s after the phase)" } ?? "")
            }
            if let events = check.topicEvents {
                issued += ", topic events \(events)" + (check.topicDistinctWinners.map { " (\($0) distinct users)" } ?? "")
            }
            let limit = check.limit.map { "limit \($0), " } ?? ""
            let verdict = check.violations.isEmpty ? "invariants hold" : "VIOLATED: " + check.violations.joined(separator: "; ")
            return "\(phase.name): \(limit)200s \(check.ok200), distinct winners \(check.distinctWinners)\(issued), "
                + "sent \(phase.totals.sent), counted \(phase.totals.status.total) — \(verdict)"
        }
    }

    /// Where the CPU went, for a stack run: a row per phase, a column per process, CPU seconds and the
    /// share of the phase's total; nil when no phase recorded it.
    static func cpuRows(_ results: LoadResults) -> [[String]]? {
        guard let processes = results.stack?.processes, results.phases.contains(where: { $0.cpu != nil }) else { return nil }
        var rows = [["phase"] + processes + ["total"]]
        for phase in results.phases {
            guard let cpu = phase.cpu else { continue }
            let total = cpu.reduce(0) { $0 + $1.seconds }
            rows.append(
                [phase.name]
                    + processes.map { name in
                        guard let seconds = cpu.first(where: { $0.process == name })?.seconds else { return "-" }
                        return "\(number(seconds)) (\(total > 0 ? Int((seconds / total * 100).rounded()) : 0)%)"
                    } + [number(total)]
            )
        }
        return rows
    }

    static let cpuNote = "CPU seconds (user + system, from /proc) per process during each phase, and its share of the phase's total"

    /// The stack's line, for a stack run.
    static func stackLine(_ results: LoadResults) -> String? {
        results.stack.map { "Stack: \($0.name) — " + $0.processes.joined(separator: ", ") }
    }

    /// `report.md`: the same tables, the invariants, and the charts when `charts` names
    /// the folder (relative to the report) holding them.
    public static func markdown(_ results: LoadResults, charts: String?) -> String {
        var text = "# CouponGate load test report\n\n"
        text += "Generator: \(results.generator) · target \(results.target)\(results.path) · started \(results.startedAt)\n\n"
        if let stack = stackLine(results) { text += stack + "\n\n" }
        text += markdownTable([headings] + rows(results))
        text += "\nLatencies in ms. Seed: Spring Boot + Redis + Kafka + MySQL on a MacBook Pro, k6 in Docker.\n\n"
        text += "## Invariants\n\n" + invariantLines(results).map { "- " + $0 }.joined(separator: "\n") + "\n"
        if let cpu = cpuRows(results) {
            text += "\n## Where the CPU went\n\n" + cpuNote + ".\n\n"
            text += "| " + cpu[0].joined(separator: " | ") + " |\n|---|" + String(repeating: "---:|", count: cpu[0].count - 1) + "\n"
            for row in cpu.dropFirst() { text += "| " + row.joined(separator: " | ") + " |\n" }
            if charts != nil { text += "\n![CPU per process](\(charts ?? "charts")/cpu.svg)\n" }
        }
        for phase in results.phases {
            text += "\n## \(phase.name)\n\n"
            text += phase.stages.map { "\($0.vus) VU × \(number($0.seconds)) s" }.joined(separator: " → ") + "\n\n"
            if let table = stageRows(phase) {
                text += "| " + stageHeadings.joined(separator: " | ") + " |\n|" + String(repeating: "---:|", count: stageHeadings.count) + "\n"
                for row in table { text += "| " + row.joined(separator: " | ") + " |\n" }
                if let recovery = recoveryLine(phase) { text += "\n" + recovery + "\n" }
                text += "\n"
            }
            if let charts {
                for chart in Chart.allCases {
                    text += "![\(phase.name): \(chart.title)](\(charts)/\(phase.name)-\(chart.rawValue).svg)\n"
                }
            }
        }
        return text
    }

    /// Each phase's charts as standalone SVG files, keyed by file name.
    public static func chartFiles(_ results: LoadResults) -> [(name: String, svg: String)] {
        results.phases.flatMap { phase in
            Chart.allCases.map { chart in ("\(phase.name)-\(chart.rawValue).svg", chart.svg(phase, standalone: true)) }
        } + (CPUChart.svg(results, standalone: true).map { [("cpu.svg", $0)] } ?? [])
    }

    /// `report.html`: one file, no scripts or external resources, the charts inline.
    public static func html(_ results: LoadResults) -> String {
        var body = "<h1>CouponGate load test report</h1>\n"
        body +=
            "<p>Generator: \(escape(results.generator)) · target \(escape(results.target + results.path)) · started \(escape(results.startedAt))</p>\n"
        if let stack = stackLine(results) { body += "<p>\(escape(stack))</p>\n" }
        body += htmlTable([headings] + rows(results))
        body += "<p class=\"note\">Latencies in ms. Seed: Spring Boot + Redis + Kafka + MySQL on a MacBook Pro, k6 in Docker.</p>\n"
        body +=
            "<ul class=\"invariants\">"
            + zip(results.phases, invariantLines(results)).map { phase, line in
                "<li class=\"\(phase.invariants.violations.isEmpty ? "ok" : "bad")\">\(escape(line))</li>"
            }.joined() + "</ul>\n"
        if let cpu = cpuRows(results) {
            body += "<h2>Where the CPU went</h2>\n<p class=\"note\">\(escape(cpuNote)).</p>\n<table class=\"stages\">\n"
            body += "<tr>" + cpu[0].map { "<th>\(escape($0))</th>" }.joined() + "</tr>\n"
            body += cpu.dropFirst().map { "<tr>" + $0.map { "<td>\(escape($0))</td>" }.joined() + "</tr>\n" }.joined() + "</table>\n"
            if let chart = CPUChart.svg(results, standalone: false) { body += "<div class=\"charts\">\(chart)</div>\n" }
        }
        for phase in results.phases {
            body += "<section class=\"phase\" id=\"\(escape(phase.name))\">\n<h2>\(escape(phase.name))</h2>\n"
            body += "<p>" + phase.stages.map { "\($0.vus) VU × \(number($0.seconds)) s" }.joined(separator: " → ") + "</p>\n"
            if let table = stageRows(phase) {
                body += "<table class=\"stages\">\n<tr>" + stageHeadings.map { "<th>\($0)</th>" }.joined() + "</tr>\n"
                body += table.map { "<tr>" + $0.map { "<td>\(escape($0))</td>" }.joined() + "</tr>\n" }.joined() + "</table>\n"
                if let recovery = recoveryLine(phase) { body += "<p>\(escape(recovery))</p>\n" }
            }
            body +=
                "<div class=\"charts\">" + Chart.allCases.map { $0.svg(phase, standalone: false) }.joined(separator: "\n") + "</div>\n</section>\n"
        }
        return page(title: "CouponGate load test report", body: body)
    }

    /// A Markdown table: headings, then rows; the first two columns (phase, run) text, the rest numbers.
    static func markdownTable(_ rows: [[String]]) -> String {
        var text = "| " + rows[0].joined(separator: " | ") + " |\n"
        text += "|" + rows[0].indices.map { $0 < 2 ? "---|" : "---:|" }.joined() + "\n"
        for row in rows.dropFirst() { text += "| " + row.joined(separator: " | ") + " |\n" }
        return text
    }

    /// An HTML table: headings, then rows, the seed's rows greyed.
    static func htmlTable(_ rows: [[String]]) -> String {
        var table = "<table>\n<tr>" + rows[0].map { "<th>\(escape($0))</th>" }.joined() + "</tr>\n"
        for row in rows.dropFirst() {
            table += "<tr\(row.count > 1 && row[1] == "seed" ? " class=\"seed\"" : "")>" + row.map { "<td>\(escape($0))</td>" }.joined() + "</tr>\n"
        }
        return table + "</table>\n"
    }

    /// A self-contained HTML page in the reports' style.
    static func page(title: String, body: String) -> String {
        """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8"><title>\(escape(title))</title>
        <style>
        body{font:14px system-ui,sans-serif;margin:24px;color:#222}
        table{border-collapse:collapse}td,th{padding:3px 8px;border-bottom:1px solid #ddd;text-align:right}
        td:nth-child(-n+2),th:nth-child(-n+2){text-align:left}tr.seed{color:#888}
        table.stages td,table.stages th{text-align:right}
        li.ok{color:#176d2c}li.bad{color:#b00020;font-weight:bold}.note{color:#666}
        .charts{display:flex;flex-wrap:wrap;gap:12px}svg.chart{background:#fff;border:1px solid #eee}
        </style></head><body>
        \(body)</body></html>

        """
    }

    // MARK: Formatting

    static func number(_ value: Int) -> String {
        let digits = String(value.magnitude)
        var grouped = ""
        for (index, digit) in digits.enumerated() {
            if index > 0, (digits.count - index) % 3 == 0 { grouped += "," }
            grouped.append(digit)
        }
        return (value < 0 ? "-" : "") + grouped
    }

    static func number(_ value: Double) -> String {
        value >= 100 || value == value.rounded() ? number(Int(value.rounded())) : String(format: "%.1f", value)
    }

    public static func milliseconds(_ value: Double) -> String {
        value >= 100 ? String(format: "%.0f", value) : value >= 10 ? String(format: "%.1f", value) : String(format: "%.2f", value)
    }

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }

    public static func timestamp(_ date: Date) -> String {
        date.formatted(.iso8601)
    }
}
