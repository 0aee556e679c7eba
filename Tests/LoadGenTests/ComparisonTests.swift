import Foundation
import Testing

@testable import LoadGen

/// Several runs side by side: the seed's row once per phase, a row per run, CPU by role.
@Suite struct ComparisonTests {
    static func run(_ stack: String, processes: [String], generator: String = "coupongate") -> LoadResults {
        var results = ReportTests.results()
        results.generator = generator
        results.stack = .init(name: stack, processes: ["generator"] + processes)
        results.phases.removeLast()  // baseline only
        results.phases[0].cpu = (["generator"] + processes).enumerated().map { .init(process: $1, seconds: Double($0 + 1)) }
        return results
    }

    @Test func theSeedRowComesOnceThenARowPerRun() throws {
        let postgres = Self.run("postgres", processes: ["serve 1", "serve 2", "relay", "redis-server", "postgres"])
        let kafka = Self.run("kafka", processes: ["serve 1", "serve 2", "relay", "consume", "redis-server", "mariadbd", "tansu"])
        let k6 = Self.run("kafka", processes: ["serve 1", "serve 2", "relay", "consume", "redis-server", "mariadbd", "tansu"], generator: "k6")
        let comparison = Comparison([postgres, kafka, k6])
        #expect(comparison.runs.map(\.label) == ["postgres", "kafka", "kafka (k6)"])

        let rows = comparison.rows()
        #expect(rows.map { Array($0.prefix(2)) } == [["baseline", "seed"], ["", "postgres"], ["", "kafka"], ["", "kafka (k6)"]])

        let cpu = try #require(comparison.cpuRows())
        #expect(cpu[0] == ["phase", "run", "generator", "API", "relay", "consumer", "Redis", "database", "broker", "total", "ms per request"])
        // postgres: generator 1, serve 2+3 = 5, relay 4, Redis 5, postgres 6 — of 21 s over 500 requests.
        #expect(cpu[1] == ["baseline", "postgres", "1 (5%)", "5 (24%)", "4 (19%)", "-", "5 (24%)", "6 (29%)", "-", "21", "42"])
        #expect(cpu[2].prefix(2) == ["", "kafka"] && cpu[2][5] == "5 (14%)" && cpu[2][8] == "8 (22%)")

        let terminal = comparison.terminal()
        #expect(terminal.contains("kafka (k6): k6, started 2026-11-24T21:00:00Z — generator, serve 1"))
        #expect(terminal.contains("postgres baseline: limit 100, 200s 100") && terminal.contains("invariants hold"))
        #expect(comparison.invariantsHold)

        let markdown = comparison.markdown(chart: "charts/comparison-cpu.svg")
        #expect(markdown.contains("| baseline | seed | ~2,300 |") && markdown.contains("|  | postgres | 100 |"))
        #expect(markdown.contains("![CPU per role](charts/comparison-cpu.svg)"))
        let chart = try #require(comparison.cpuChart(standalone: true))
        #expect(chart.contains(">kafka (k6) baseline<") && chart.components(separatedBy: "class=\"share\"").count - 1 == 5 + 7 + 7)
        #expect(comparison.html().contains("<tr class=\"seed\"><td>baseline</td><td>seed</td>"))
    }

    @Test func aViolationInAnyRunFailsTheComparison() throws {
        var broken = Self.run("mysql", processes: ["serve 1"])
        broken.phases[0].recordPipeline(.init(databaseRows: 99, drainSeconds: 120))
        let comparison = Comparison([Self.run("mysql", processes: ["serve 1"]), broken])
        #expect(comparison.runs.map(\.label) == ["mysql", "mysql #2"])
        #expect(!comparison.invariantsHold)
        #expect(comparison.html().contains("<li class=\"bad\">mysql #2 baseline:"))
    }

    @Test func filesGoToTheRunsCommonFolderWithoutTouchingTheirReports() throws {
        let folder = FileManager.default.temporaryDirectory.appending(path: "cmp-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        try ReportFiles.write(Self.run("postgres", processes: ["serve 1"]), to: folder)
        let own = try String(contentsOf: folder.appending(path: "report.md"), encoding: .utf8)
        try ReportFiles.render(Comparison([Self.run("postgres", processes: ["serve 1"]), Self.run("kafka", processes: ["tansu"])]), to: folder)
        #expect(try String(contentsOf: folder.appending(path: "report.md"), encoding: .utf8) == own)
        for name in ["comparison.md", "comparison.html", "charts/comparison-cpu.svg"] {
            #expect(FileManager.default.fileExists(atPath: folder.appending(path: name).path), "\(name) written")
        }
    }
}
