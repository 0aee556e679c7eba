/// Several runs side by side (`coupongate loadtest report A.json B.json …`): per phase the seed's row,
/// then one row per run; the spike's recovery, where each run's CPU went (by role, so stacks with
/// different processes compare) and every run's invariants.
public struct Comparison: Sendable {
    /// A run's name in the tables: its stack (or "url"), and the generator when it is not ours.
    public struct Run: Sendable {
        public var label: String
        public var results: LoadResults
    }

    public let runs: [Run]

    public init(_ results: [LoadResults]) {
        var runs: [Run] = []
        for result in results {
            let base = (result.stack?.name ?? "url") + (result.generator == "coupongate" ? "" : " (\(result.generator))")
            var label = base
            var number = 2
            while runs.contains(where: { $0.label == label }) {
                label = "\(base) #\(number)"
                number += 1
            }
            runs.append(Run(label: label, results: result))
        }
        self.runs = runs
    }

    /// Phase names in the order they first appear, the seed's order first.
    var phaseNames: [String] {
        var names: [String] = []
        for run in self.runs {
            for phase in run.results.phases where !names.contains(phase.name) { names.append(phase.name) }
        }
        let seed = LoadPhase.seedPhases.map(\.name)
        return seed.filter(names.contains) + names.filter { !seed.contains($0) }
    }

    /// Whether every phase of every run kept its invariants.
    public var invariantsHold: Bool {
        self.runs.allSatisfy { $0.results.phases.allSatisfy(\.invariants.violations.isEmpty) }
    }

    /// Per phase: the seed's row, then each run's that ran it.
    func rows() -> [[String]] {
        self.phaseNames.flatMap { name in
            let runs = self.runs.compactMap { run in run.results.phases.first { $0.name == name }.map { (run.label, $0) } }
            let seed = Report.seedRow(name, label: name)
            return (seed.map { [$0] } ?? [])
                + runs.enumerated().map { index, pair in
                    Report.row(pair.1, run: pair.0, label: seed == nil && index == 0 ? name : "")
                }
        }
    }

    // MARK: CPU by role

    /// What a process does in the stack, so that stacks compare: both API instances are "API".
    static func role(of process: String) -> String {
        switch process {
        case "generator": "generator"
        case "relay": "relay"
        case "consume": "consumer"
        case "redis-server": "Redis"
        case "postgres", "mariadbd": "database"
        case "tansu": "broker"
        case let name where name.hasPrefix("serve"): "API"
        default: process
        }
    }

    static let roleOrder = ["generator", "API", "relay", "consumer", "Redis", "database", "broker"]

    /// The roles some run has, in the table's order.
    var roles: [String] {
        let present = Set(self.runs.flatMap { $0.results.stack?.processes.map(Self.role(of:)) ?? [] })
        return Self.roleOrder.filter(present.contains) + present.subtracting(Self.roleOrder).sorted()
    }

    /// A phase's CPU seconds per role; nil when the run recorded none.
    static func cpuByRole(_ phase: PhaseResult) -> [String: Double]? {
        phase.cpu.map { cpu in
            cpu.reduce(into: [:]) { seconds, entry in seconds[Self.role(of: entry.process), default: 0] += entry.seconds }
        }
    }

    /// Headings and rows: phase, run, seconds (share) per role, the total, and CPU milliseconds per request.
    func cpuRows() -> [[String]]? {
        let roles = self.roles
        var rows: [[String]] = []
        for name in self.phaseNames {
            var label = name
            for run in self.runs {
                guard let phase = run.results.phases.first(where: { $0.name == name }), let cpu = Self.cpuByRole(phase) else { continue }
                let total = cpu.values.reduce(0, +)
                defer { label = "" }
                rows.append(
                    [label, run.label]
                        + roles.map { role in
                            cpu[role].map { "\(Report.number($0)) (\(total > 0 ? Int(($0 / total * 100).rounded()) : 0)%)" } ?? "-"
                        }
                        + [Report.number(total), Report.number(total * 1000 / Double(max(phase.totals.sent, 1)))]
                )
            }
        }
        guard !rows.isEmpty else { return nil }
        return [["phase", "run"] + roles + ["total", "ms per request"]] + rows
    }

    static let cpuNote =
        "CPU seconds (user + system, from /proc) per role during each phase and its share of the phase's total "
        + "(API: every instance; database: PostgreSQL or MariaDB; broker: tansu), and the whole stack's CPU per request sent"

    /// The CPU chart: one bar per run and phase, split by role.
    func cpuChart(standalone: Bool) -> String? {
        var merged = LoadResults(generator: "comparison", target: "", path: "", startedAt: "", phases: [])
        merged.stack = .init(name: "comparison", processes: self.roles)
        for name in self.phaseNames {
            for run in self.runs {
                guard var phase = run.results.phases.first(where: { $0.name == name }), let cpu = Self.cpuByRole(phase) else { continue }
                phase.name = "\(run.label) \(name)"
                phase.cpu = self.roles.compactMap { role in cpu[role].map { PhaseResult.ProcessSeconds(process: role, seconds: $0) } }
                merged.phases.append(phase)
            }
        }
        return CPUChart.svg(merged, standalone: standalone)
    }

    // MARK: Lines

    /// Each run: what it was, from which file's producer, when.
    func runLines() -> [String] {
        self.runs.map { run in
            let results = run.results
            let what = results.stack.map { $0.processes.joined(separator: ", ") } ?? "\(results.target)\(results.path)"
            return "\(run.label): \(results.generator), started \(results.startedAt) — \(what)"
        }
    }

    func recoveryLines() -> [String] {
        self.runs.flatMap { run in run.results.phases.compactMap { phase in Report.recoveryLine(phase).map { "\(run.label) \(phase.name): \($0)" } } }
    }

    func invariantLines() -> [String] {
        self.runs.flatMap { run in Report.invariantLines(run.results).map { "\(run.label) \($0)" } }
    }

    static let seedNote = "Latencies in ms. Seed: Spring Boot + Redis + Kafka + MySQL on a MacBook Pro, k6 in Docker."

    // MARK: Formats

    public func terminal() -> String {
        var lines = self.runLines() + [""]
        lines += Report.aligned([Report.headings] + self.rows(), textColumns: 2)
        lines.append(Self.seedNote)
        if !self.recoveryLines().isEmpty { lines += [""] + self.recoveryLines() }
        if let cpu = self.cpuRows() { lines += ["", Self.cpuNote + ":"] + Report.aligned(cpu, textColumns: 2) }
        lines += [""] + self.invariantLines()
        return lines.joined(separator: "\n") + "\n"
    }

    /// `comparison.md`, with the CPU chart when `chart` names its file (relative to the report).
    public func markdown(chart: String?) -> String {
        var text = "# CouponGate load tests side by side\n\n" + self.runLines().map { "- " + $0 }.joined(separator: "\n") + "\n\n"
        text += Report.markdownTable([Report.headings] + self.rows())
        text += "\n" + Self.seedNote + "\n"
        if !self.recoveryLines().isEmpty { text += "\n## Spike recovery\n\n" + self.recoveryLines().map { "- " + $0 }.joined(separator: "\n") + "\n" }
        if let cpu = self.cpuRows() {
            text += "\n## Where the CPU went\n\n" + Self.cpuNote + ".\n\n" + Report.markdownTable(cpu)
            if let chart, self.cpuChart(standalone: false) != nil { text += "\n![CPU per role](\(chart))\n" }
        }
        text += "\n## Invariants\n\n" + self.invariantLines().map { "- " + $0 }.joined(separator: "\n") + "\n"
        return text
    }

    /// `comparison.html`: one file, the chart inline.
    public func html() -> String {
        var body = "<h1>CouponGate load tests side by side</h1>\n<ul>"
        body += self.runLines().map { "<li>\(Report.escape($0))</li>" }.joined() + "</ul>\n"
        body += Report.htmlTable([Report.headings] + self.rows())
        body += "<p class=\"note\">\(Report.escape(Self.seedNote))</p>\n"
        if !self.recoveryLines().isEmpty {
            body += "<h2>Spike recovery</h2>\n<ul>" + self.recoveryLines().map { "<li>\(Report.escape($0))</li>" }.joined() + "</ul>\n"
        }
        if let cpu = self.cpuRows() {
            body += "<h2>Where the CPU went</h2>\n<p class=\"note\">\(Report.escape(Self.cpuNote)).</p>\n" + Report.htmlTable(cpu)
            if let chart = self.cpuChart(standalone: false) { body += "<div class=\"charts\">\(chart)</div>\n" }
        }
        body += "<h2>Invariants</h2>\n<ul class=\"invariants\">"
        for run in self.runs {
            for (phase, line) in zip(run.results.phases, Report.invariantLines(run.results)) {
                body += "<li class=\"\(phase.invariants.violations.isEmpty ? "ok" : "bad")\">\(Report.escape("\(run.label) \(line)"))</li>"
            }
        }
        body += "</ul>\n"
        return Report.page(title: "CouponGate load tests side by side", body: body)
    }
}
