import ArgumentParser
import CouponCore
import Foundation
import LoadGen
import LocalServers
import Logging
import NIOCore
import NIOPosix
import Synchronization
import UnixSignals

struct LoadtestCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "loadtest",
        abstract: "Reproduce the seed's load test: run its phases against CouponGate and write the reports.",
        discussion: """
            With no --url, starts a stack itself on loopback and stops it afterwards: the embedded \
            default (a child `coupongate serve`), or with --stack postgres, mysql or kafka redis-server, \
            the database (and tansu), --instances API instances, the relay (and a consumer). Each \
            phase resets the campaign first and checks the invariants after (on a stack, also that \
            the database of record holds exactly the 200s once drained); the exit status is 1 if any \
            was violated, 130 after an interrupt (everything started is stopped).
            """,
        subcommands: [LoadtestRunCommand.self, LoadtestReportCommand.self],
        defaultSubcommand: LoadtestRunCommand.self
    )
}

struct LoadtestRunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run phases (the default subcommand: `coupongate loadtest stress` runs the stress phase)."
    )

    @Argument(help: "baseline, rampup, stress, spike or all (the seed's four, in order).")
    var phase = "all"

    @Option(help: "Custom stages instead of a phase, e.g. 10:90s,50:90s (VUs:duration, each held).")
    var stages: String?

    @Option(help: "The service to load, http://HOST:PORT; none starts the embedded default.")
    var url: String?

    @Option(help: "The apply route (?userId= is added).")
    var path = "/coupon/apply"

    @Option(help: "The campaign to reset and check (default: the one in --path, else 'default').")
    var campaign: String?

    @Option(help: "Admin token for the reset (COUPONGATE_ADMIN_TOKEN); not needed without --url.")
    var adminToken: String?

    @Flag(help: "Do not reset the campaign before each phase.")
    var noReset = false

    @Option(help: "Open model: requests per second (e.g. 20000/s), VUs becoming the connection cap; latency counts from the intended send time.")
    var rate: String?

    @Option(help: "Multiply every stage's duration, e.g. 0.05 for a quick run.")
    var durationScale = 1.0

    @Option(help: "Most requests a phase may send.")
    var maxRequests = 100_000_000

    @Option(help: "Seconds before an unanswered request counts as a network error.")
    var requestTimeout = 10.0

    @Option(help: "Event-loop threads of the generator.")
    var threads = 1

    @Option(help: "Without --url: embedded, postgres, mysql or kafka (the seed's: Redis, Kafka, MariaDB).")
    var stack: LoadStack.Kind = .embedded

    @Option(help: "API instances of a postgres, mysql or kafka stack.")
    var instances = 2

    @Flag(help: "Keep the stack's folder (every server's data and log) and print its path.")
    var keep = false

    @Option(help: "Coupon limit of the stack's campaign (without --url).")
    var limit = 100

    @Option(help: "Folder for results.json, report.md, report.html and charts/ (default: coupongate-loadtest-<time>).")
    var out: String?

    func validate() throws {
        guard durationScale > 0, durationScale <= 100 else { throw ValidationError("--duration-scale must be above 0 and at most 100") }
        guard maxRequests >= 1 else { throw ValidationError("--max-requests must be at least 1") }
        guard requestTimeout > 0, requestTimeout <= 120 else { throw ValidationError("--request-timeout must be above 0 and at most 120 seconds") }
        guard (1...64).contains(threads) else { throw ValidationError("--threads must be from 1 to 64") }
        guard (1...100_000_000).contains(limit) else { throw ValidationError("--limit must be from 1 to 100000000") }
        guard (1...16).contains(instances) else { throw ValidationError("--instances must be from 1 to 16") }
        if url != nil, stack != .embedded { throw ValidationError("--stack starts its own servers: give it or --url, not both") }
        _ = try phases()
        _ = try parsedRate()
        if url != nil { _ = try target() }
    }

    func phases() throws -> [LoadPhase] {
        let phases: [LoadPhase]
        do {
            if let stages {
                phases = [LoadPhase(name: "custom", stages: try Stage.parseList(stages))]
            } else {
                phases = try LoadPhase.named(phase)
            }
        } catch {
            throw ValidationError(error.description)
        }
        return phases.map { $0.scaled(by: durationScale) }
    }

    func parsedRate() throws -> Double? {
        guard let rate else { return nil }
        let number = rate.hasSuffix("/s") ? String(rate.dropLast(2)) : rate
        guard let value = Double(number), value >= 1, value <= 10_000_000 else {
            throw ValidationError("--rate '\(rate)' must be requests per second from 1 to 10000000, e.g. 20000/s")
        }
        return value
    }

    func target() throws -> LoadTarget {
        do {
            return try LoadTarget(url: url ?? "http://127.0.0.1:8080", path: path)
        } catch {
            throw ValidationError(error.description)
        }
    }

    var campaignName: String {
        if let campaign { return campaign }
        let parts = path.split(separator: "/")
        if parts.count == 3, parts[0] == "campaigns", parts[2] == "apply" { return String(parts[1]) }
        return "default"
    }

    func run() async throws {
        let phases = try phases()
        let group = MultiThreadedEventLoopGroup(numberOfThreads: threads)
        do {
            try await run(phases, group: group)
        } catch {
            try? await group.shutdownGracefully()
            throw error
        }
        try await group.shutdownGracefully()
    }

    private func run(_ phases: [LoadPhase], group: MultiThreadedEventLoopGroup) async throws {
        guard url == nil else {
            let options = LoadRunner.Options(
                target: try target(),
                campaign: campaignName,
                adminToken: adminToken ?? ProcessInfo.processInfo.environment["COUPONGATE_ADMIN_TOKEN"]
            )
            return try await run(phases, options: options, stack: nil, group: group)
        }
        // An interrupt stops whatever has been started so far, then exits.
        let started = StartedProcesses(folder: LoadStack.newFolder(), keep: keep)
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask {
                for await signal in await UnixSignalsSequence(trapping: .sigint, .sigterm) {
                    self.log("\(signal): stopping the stack")
                    await started.stopAll()
                    Foundation.exit(signal == .sigint ? 130 : 143)
                }
            }
            tasks.addTask {
                let stack = try await LoadStack.start(
                    self.stack,
                    in: started.folder,
                    instances: self.instances,
                    limit: self.limit,
                    keep: self.keep,
                    started: started.add
                )
                do {
                    let targets = stack.targets.map { target in
                        var target = target
                        target.path = self.path
                        return target
                    }
                    var options = LoadRunner.Options(target: targets[0], campaign: self.campaignName, adminToken: stack.adminToken)
                    options.instances = Array(targets.dropFirst())
                    self.log(
                        "\(stack.kind.rawValue) stack started in \(stack.folder.path): " + stack.processes.map(\.name).joined(separator: ", ")
                            + " (limit \(self.limit))"
                    )
                    try await self.run(phases, options: options, stack: stack, group: group)
                } catch {
                    if !(error is ExitCode) { self.log("the stack's logs:\n\(stack.logTails)") }
                    await stack.stop(keep: self.keep)
                    throw error
                }
                await stack.stop(keep: self.keep)
                if self.keep { self.log("kept the stack's folder: \(stack.folder.path)") }
            }
            try await tasks.next()
            tasks.cancelAll()
        }
    }

    private func run(
        _ phases: [LoadPhase],
        options baseOptions: LoadRunner.Options,
        stack: LoadStack?,
        group: MultiThreadedEventLoopGroup
    ) async throws {
        let folder = URL(fileURLWithPath: out ?? "coupongate-loadtest-\(Self.stamp())")
        var options = baseOptions
        options.reset = !noReset
        options.rate = try parsedRate()
        options.maxRequests = maxRequests
        options.requestTimeout = .milliseconds(Int64(requestTimeout * 1000))

        let runner = LoadRunner(options: options, group: group, progress: ProgressLine())
        let startedAt = Report.timestamp(Date())
        let cpuBefore = CPUTime.ofThisProcess
        var results = LoadResults(
            generator: "coupongate",
            target: options.target.url,
            path: options.target.path,
            startedAt: startedAt,
            phases: []
        )
        results.stack = stack?.description
        let quiet = Logger(label: "loadtest") { _ in SwiftLogNoOpLogHandler() }
        for (index, phase) in phases.enumerated() {
            log("\(phase.name): " + phase.stages.map(\.description).joined(separator: ", ") + (options.rate.map { " at \(Int($0))/s" } ?? ""))
            let before = stack?.cpuSeconds()
            // Phases use disjoint user ids so a phase run without reset still sees fresh users.
            var result = try await runner.run(phase, firstUser: Int64(index) * 1_000_000_000_000 + 1)
            if let stack, let before {
                result.cpu = zip(stack.description.processes, zip(stack.cpuSeconds(), before)).map { name, pair in
                    PhaseResult.ProcessSeconds(process: name, seconds: pair.0 - pair.1)
                }
                if let campaign = try? CampaignID(validating: options.campaign),
                    let drained = try await stack.drained(campaign, winners: result.invariants.ok200, logger: quiet)
                {
                    result.recordPipeline(drained)
                    log(
                        "\(phase.name): the database holds \(drained.databaseRows) coupons, \(String(format: "%.1f", drained.drainSeconds)) s after the phase"
                            + (drained.topicEvents.map { ", the topic \($0) events of the phase's epoch" } ?? "")
                    )
                }
            }
            results.phases.append(result)
        }
        let generatorCPU = CPUTime.ofThisProcess - cpuBefore

        try ReportFiles.write(results, to: folder)
        print(Report.terminal(results), terminator: "")
        let requests = results.phases.reduce(0) { $0 + $1.totals.sent }
        print(
            "CPU: generator \(String(format: "%.1f", generatorCPU)) s"
                + " (\(String(format: "%.3f", generatorCPU / Double(max(requests, 1)) * 1000)) s per 1,000 requests)"
        )
        print("reports: \(folder.path)/report.html, report.md, results.json")
        if results.phases.contains(where: { !$0.invariants.violations.isEmpty }) {
            throw ExitCode(1)
        }
    }

    static func stamp() -> String {
        let formatter = DateFormatter()
        formatter.dateFormat = "yyyyMMdd-HHmmss"
        formatter.locale = Locale(identifier: "en_US_POSIX")
        return formatter.string(from: Date())
    }

    func log(_ line: String) {
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }
}

struct LoadtestReportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Judge results.json files (e.g. the k6 runner's) and render their reports; several side by side.",
        discussion: """
            The invariants of every phase are judged again from the counts in the file, by the same \
            rules as the built-in generator's, whatever violations the producer wrote; the exit status \
            is 1 if any is violated.

            One file: report.md, report.html and charts/ beside it (or in --out). Several (say, one run \
            per stack): comparison.md, comparison.html and charts/comparison-cpu.svg in their common \
            folder (or --out) — per phase the seed's row and one row per run, the spike's recovery, \
            the CPU per role (generator, API, relay, consumer, Redis, database, broker), the invariants.
            """
    )

    @Argument(help: "The results.json files to render.")
    var results: [String]

    @Option(help: "Folder for the reports (default: the results file's folder; for several, their common folder).")
    var out: String?

    func validate() throws {
        guard !results.isEmpty else { throw ValidationError("give at least one results.json") }
    }

    func run() async throws {
        let files = results.map { URL(fileURLWithPath: $0).standardizedFileURL }
        var loaded: [LoadResults] = []
        do {
            for file in files { loaded.append(try ReportFiles.read(file).rechecked()) }
        } catch let error as LoadGenError {
            throw ValidationError(error.description)
        }
        let folder = out.map { URL(fileURLWithPath: $0) } ?? Self.commonFolder(files)
        if loaded.count == 1 {
            try ReportFiles.render(loaded[0], to: folder)
            print(Report.terminal(loaded[0]), terminator: "")
            print("reports: \(folder.path)/report.html, report.md")
        } else {
            let comparison = Comparison(loaded)
            try ReportFiles.render(comparison, to: folder)
            print(comparison.terminal(), terminator: "")
            print("reports: \(folder.path)/comparison.html, comparison.md")
        }
        if loaded.contains(where: { $0.phases.contains { !$0.invariants.violations.isEmpty } }) { throw ExitCode(1) }
    }

    /// The deepest folder holding every file.
    static func commonFolder(_ files: [URL]) -> URL {
        let folders = files.map { $0.deletingLastPathComponent().pathComponents }
        var common = folders[0]
        for folder in folders.dropFirst() {
            common = Array(zip(common, folder).prefix { $0 == $1 }.map(\.0))
        }
        return URL(fileURLWithPath: common.isEmpty ? "/" : NSString.path(withComponents: common))
    }
}

/// What a stack run has started so far, for an interrupt to stop.
final class StartedProcesses: Sendable {
    let folder: URL
    let keep: Bool
    private let processes = Mutex<[LocalProcess]>([])

    init(folder: URL, keep: Bool) {
        self.folder = folder
        self.keep = keep
    }

    @Sendable func add(_ process: LocalProcess) {
        self.processes.withLock { $0.append(process) }
    }

    /// CouponGate's processes first (they were started last), then the servers; the folder too unless kept.
    func stopAll() async {
        await LoadStack.stop(self.processes.withLock { $0.reversed() }, folder: self.folder, keep: self.keep)
    }
}
