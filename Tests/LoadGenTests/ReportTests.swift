import Foundation
import NIOCore
import Testing

@testable import LoadGen

@Suite struct ReportTests {
    static func results() -> LoadResults {
        func phase(_ name: String, seconds: Int, violations: [String] = []) -> PhaseResult {
            var recorder = LoadRecorder(startNanoseconds: 0)
            for index in 0..<(seconds * 100) {
                let now = Int64(index) * 10_000_000
                recorder.recordSent()
                recorder.recordVUs(10, now: now)
                if index == 150 {
                    recorder.recordNetworkError(now: now)
                } else {
                    recorder.recordAnswer(status: index < 100 ? 200 : 422, user: Int64(index + 1), intended: now - 2_000_000, now: now)
                }
            }
            var result = PhaseResult(
                phase: LoadPhase(name: name, stages: [Stage(vus: 10, duration: .seconds(Int64(seconds)))]),
                startedAt: "2026-11-24T21:00:00Z",
                seconds: Double(seconds),
                recorder: recorder,
                limit: 100,
                issued: 100
            )
            result.invariants.violations += violations
            return result
        }
        return LoadResults(
            generator: "coupongate",
            target: "http://127.0.0.1:8080",
            path: "/coupon/apply",
            startedAt: "2026-11-24T21:00:00Z",
            phases: [phase("baseline", seconds: 5), phase("custom", seconds: 3, violations: ["a <made-up> problem"])]
        )
    }

    @Test func terminalTablePutsTheSeedBesideOurs() {
        let text = Report.terminal(Self.results())
        let lines = text.split(separator: "\n").map(String.init)
        #expect(lines[0].hasPrefix("phase") && lines[0].contains("P99") && lines[0].contains("net err"))
        let ours = lines.first { $0.hasPrefix("baseline") }
        #expect(ours?.contains("100") == true)  // the TPS: 500 answers over 5 s
        #expect(lines.contains { $0.contains("seed") && $0.contains("~2,300") && $0.contains("10 (0.01%)") })
        // No seed row for a custom phase; its violation is spelled out.
        #expect(lines.filter { $0.contains("seed") && !$0.hasPrefix("latencies") }.count == 1)
        #expect(text.contains("baseline: limit 100, 200s 100, distinct winners 100, issued 100, sent 500, counted 500 — invariants hold"))
        #expect(text.contains("custom:") && text.contains("VIOLATED: a <made-up> problem"))
    }

    @Test func markdownHasTheTablesAndChartImages() {
        let text = Report.markdown(Self.results(), charts: "charts")
        let rows = text.split(separator: "\n").filter { $0.hasPrefix("| ") }
        #expect(rows.count == 4)  // heading, baseline, seed, custom
        #expect(text.contains("![baseline: latency P50 / P95 / P99 (ms)](charts/baseline-latency.svg)"))
        #expect(Report.chartFiles(Self.results()).count == 8)
    }

    @Test func htmlIsSelfContainedWithAChartPerSeries() throws {
        let html = Report.html(Self.results())
        #expect(html.hasPrefix("<!DOCTYPE html>"))
        #expect(!html.contains("<script") && !html.contains("src=") && !html.contains("href=\"http"))
        #expect(html.components(separatedBy: "<svg class=\"chart\"").count - 1 == 8)
        #expect(html.contains("a &lt;made-up&gt; problem") && !html.contains("<made-up>"))
        // The latency chart has its three lines with a point per second.
        let latency = Chart.latency.svg(Self.results().phases[0], standalone: false)
        #expect(latency.components(separatedBy: "<polyline").count - 1 == 3)
        let points = try #require(latency.split(separator: "points=\"").dropFirst().first?.split(separator: "\"").first)
        #expect(points.split(separator: " ").count == 5)
    }

    @Test func resultsRoundTripThroughJSON() throws {
        let folder = FileManager.default.temporaryDirectory.appending(path: "lg-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        try ReportFiles.write(Self.results(), to: folder)
        for name in ReportFiles.names {
            #expect(FileManager.default.fileExists(atPath: folder.appending(path: name).path), "\(name)")
        }
        let read = try ReportFiles.read(folder.appending(path: "results.json"))
        #expect(read.phases.map(\.name) == ["baseline", "custom"])
        #expect(read.phases[0].totals.status[.network] == 1)
        #expect(read.phases[0].series.count == 5)
        let json = try String(contentsOf: folder.appending(path: "results.json"), encoding: .utf8)
        #expect(json.contains("\"schema\" : \"coupongate-loadtest/1\""))
        #expect(json.contains("\"other4xx\" : 0"))

        try Data("{\"schema\":\"other/2\"}".utf8).write(to: folder.appending(path: "bad.json"))
        #expect(throws: LoadGenError.self) { try ReportFiles.read(folder.appending(path: "bad.json")) }
    }

    /// `loadtest report` judges a file by the counts in it, not by the violations its producer
    /// wrote: a k6 converter that missed an over-issue, or wrote a made-up problem, is corrected.
    @Test func recheckingJudgesTheCountsNotTheProducersVerdict() throws {
        var results = Self.results()
        #expect(results.rechecked().phases.map(\.invariants.violations) == [[], []], "the made-up problem is gone: the counts hold")

        results.phases[0].invariants.ok200 = 101
        results.phases[0].invariants.distinctWinners = 101
        results.phases[1].invariants.distinctWinners = 99
        results.phases[1].invariants.issued = nil
        let judged = results.rechecked().phases.map(\.invariants.violations)
        #expect(judged[0].contains("101 requests got 200 but the limit is 100: over-issued"))
        #expect(judged[0].contains("the server reports 100 issued but clients got 101 200s"))
        #expect(judged[1] == ["100 answers were 200 but only 99 distinct users won: a duplicate"])

        // Sold out with fewer 200s than the limit and no errors: a lost coupon, whoever ran the load.
        var short = Self.results()
        short.phases[0].invariants.ok200 = 90
        short.phases[0].invariants.distinctWinners = 90
        short.phases[0].invariants.issued = 90
        short.phases[0].totals.status = StatusCounts()
        short.phases[0].totals.status[.ok200] = 90
        short.phases[0].totals.status[.soldOut422] = short.phases[0].totals.sent - 90
        #expect(short.rechecked().phases[0].invariants.violations == ["clients were told 'sold out' but only 90 of 100 got 200"])
    }

    /// A stack run: the stack named, the database's rows judged, the CPU split per process in every format.
    @Test func aStackRunShowsTheDatabaseAndWhereTheCPUWent() throws {
        var results = Self.results()
        results.stack = .init(name: "kafka", processes: ["generator", "serve 1", "relay"])
        results.phases[0].cpu = [
            .init(process: "generator", seconds: 1), .init(process: "serve 1", seconds: 2.5), .init(process: "relay", seconds: 0.5),
        ]
        results.phases[0].recordPipeline(.init(databaseRows: 100, drainSeconds: 1.3, topicEvents: 100, topicDistinctWinners: 100))
        results.phases[1].recordPipeline(.init(databaseRows: 98, drainSeconds: 120, topicEvents: 101, topicDistinctWinners: 100))
        #expect(results.phases[0].invariants.violations.isEmpty)
        #expect(
            results.phases[1].invariants.violations == [
                "the database of record holds 98 coupons but clients got 100 200s",
                "the topic holds 101 events of the campaign's epoch but clients got 100 200s",
                "the topic's 101 events name only 100 distinct users: a duplicate event",
            ]
        )
        #expect(results.rechecked().phases[1].invariants.violations == results.phases[1].invariants.violations, "rechecking keeps the rows")

        let terminal = Report.terminal(results)
        #expect(terminal.contains("Stack: kafka — generator, serve 1, relay"))
        let cpuLine = try #require(terminal.split(separator: "\n").first { $0.hasPrefix("baseline") && $0.contains("%") })
        #expect(cpuLine.contains("1 (25%)") && cpuLine.contains("2.5 (63%)") && cpuLine.contains("0.5 (13%)") && cpuLine.hasSuffix(" 4"))
        #expect(terminal.contains("database rows 100 (drained 1.3 s after the phase), topic events 100 (100 distinct users)"))

        let markdown = Report.markdown(results, charts: "charts")
        #expect(markdown.contains("## Where the CPU went") && markdown.contains("| baseline | 1 (25%) | 2.5 (63%) | 0.5 (13%) | 4 |"))
        #expect(markdown.contains("![CPU per process](charts/cpu.svg)"))
        #expect(Report.chartFiles(results).contains { $0.name == "cpu.svg" })
        let chart = try #require(CPUChart.svg(results, standalone: true))
        #expect(chart.components(separatedBy: "class=\"share\"").count - 1 == 3, "one bar segment per process of the one phase with CPU")
        #expect(Report.html(results).contains("Where the CPU went"))

        // Without a stack (--url, k6) none of it appears.
        #expect(Report.cpuRows(Self.results()) == nil && CPUChart.svg(Self.results(), standalone: false) == nil)
        let folder = FileManager.default.temporaryDirectory.appending(path: "lg-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        try ReportFiles.write(results, to: folder)
        let read = try ReportFiles.read(folder.appending(path: "results.json"))
        #expect(read.stack == results.stack && read.phases[0].cpu == results.phases[0].cpu && read.phases[1].invariants.databaseRows == 98)
        #expect(read.phases[1].invariants.topicEvents == 101 && read.phases[1].invariants.topicDistinctWinners == 100)
    }

    /// A spike: 10 VUs at 1 ms, 1000 VUs at 80 ms, 10 VUs again; the second after the drop
    /// still drains the spike's requests, the one after is back to normal.
    @Test func stageTableAndSpikeRecovery() throws {
        let stages = [Stage(vus: 10, duration: .seconds(3)), Stage(vus: 1000, duration: .seconds(3)), Stage(vus: 10, duration: .seconds(3))]
        let ends = StageSchedule(stages).ends
        var recorder = LoadRecorder(startNanoseconds: 0, stageEnds: ends)
        let millisecond: Int64 = 1_000_000
        for second in 0..<9 {
            for tick in 0..<100 {
                let now = Int64(second) * 1_000_000_000 + Int64(tick) * 10 * millisecond
                let latency = (3...6).contains(second) ? 80 * millisecond : millisecond
                recorder.recordSent()
                recorder.recordAnswer(status: 422, user: 1, intended: now - latency, now: now)
            }
        }
        let phase = PhaseResult(
            phase: LoadPhase(name: "spike", stages: stages),
            startedAt: "2026-11-24T21:00:00Z",
            seconds: 9,
            recorder: recorder,
            limit: nil,
            issued: nil
        )
        let rows = try #require(Report.stageRows(phase))
        #expect(rows.map { $0[0] } == ["10", "1000", "10"])
        #expect(rows.map { $0[2] } == ["100", "100", "100"])  // TPS per stage
        #expect(rows[1][6] == "80.0")  // P99 of the spike stage
        // Second 6 (the first after the drop) is still slow; second 7 is back: 2 s after.
        #expect(Report.recoveryLine(phase) == "recovery after 1000 VUs: P99 back within 2.00 ms (2x the first stage's) 2 s after the drop")
        let results = LoadResults(generator: "coupongate", target: "t", path: "/p", startedAt: "s", phases: [phase])
        #expect(Report.terminal(results).contains("spike by stage:"))
        #expect(Report.markdown(results, charts: nil).contains("| 1000 | 3 | 100 |"))
        #expect(Report.html(results).contains("<table class=\"stages\">"))
    }

    @Test func chartScalesAreRound() {
        #expect(Chart.niceCeiling(0) == 1)
        #expect(Chart.niceCeiling(7) == 10)
        #expect(Chart.niceCeiling(23_456) == 50_000)
        #expect(Chart.niceCeiling(100) == 100)
        #expect(Chart.timeTicks(540) == [0, 100, 200, 300, 400, 500])
    }
}
