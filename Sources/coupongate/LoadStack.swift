import ArgumentParser
import CouponCore
import CouponKafka
import CouponRedis
import CouponServer
import Foundation
import LoadGen
import LocalServers
import Logging

/// What `loadtest` runs against when it has no `--url`: a whole stack it starts itself on loopback, in a
/// fresh temporary folder (free ports, every server's log there), and stops afterwards.
///
/// - `embedded`: one `coupongate serve`, SQLite (the default);
/// - `postgres`, `mysql`: redis-server (AOF, `appendfsync always`), the database, N `serve` and one `relay`;
/// - `kafka`: redis-server, tansu, MariaDB, N `serve`, `relay --kafka` and one `consume`.
final class LoadStack: Sendable {
    enum Kind: String, CaseIterable, Sendable, ExpressibleByArgument {
        case embedded, postgres, mysql, kafka
    }

    let kind: Kind
    let folder: URL
    /// The API instances, where the virtual users go (admin calls to the first).
    let targets: [LoadTarget]
    let adminToken: String
    /// Every process started, in the report's order: the instances, relay, consumer, then the servers.
    let processes: [LocalProcess]
    /// For reading the database of record after a phase; nil for `embedded`.
    let distributed: DistributedConfiguration?
    /// The `kafka` stack's broker, for reading the topic after a phase.
    let kafkaBrokers: String?

    private init(
        kind: Kind,
        folder: URL,
        targets: [LoadTarget],
        adminToken: String,
        processes: [LocalProcess],
        distributed: DistributedConfiguration?,
        kafkaBrokers: String?
    ) {
        self.kind = kind
        self.folder = folder
        self.targets = targets
        self.adminToken = adminToken
        self.processes = processes
        self.distributed = distributed
        self.kafkaBrokers = kafkaBrokers
    }

    /// Starts the stack in `folder` (made here; name it with ``newFolder()``); on any failure, stops what
    /// was started and removes the folder (unless `keep`).
    /// `started` is told of each process as soon as it runs, so an interrupt can stop it.
    static func start(
        _ kind: Kind,
        in folder: URL,
        instances: Int,
        limit: Int,
        keep: Bool,
        started: @Sendable (LocalProcess) -> Void
    ) async throws -> LoadStack {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        var servers: [LocalProcess] = []
        var coupongate: [LocalProcess] = []
        func track(_ process: LocalProcess) -> LocalProcess {
            started(process)
            return process
        }
        do {
            let token = "loadtest-" + UUID().uuidString
            var redisURL: String?
            var database: (flag: String, url: String)?
            var kafka: [String] = []
            if kind != .embedded {
                let redis = try await LocalRedis.start(in: try Self.folder("redis", in: folder))
                servers.append(track(redis.process))
                redisURL = redis.url
                if kind == .postgres {
                    let postgres = try await LocalPostgres.start(in: folder.appending(path: "postgres"))
                    servers.append(track(postgres.process))
                    database = ("--postgres", postgres.url)
                } else {
                    let mariadb = try await LocalMariaDB.start(in: folder.appending(path: "mariadb"))
                    servers.append(track(mariadb.process))
                    database = ("--mysql", mariadb.url)
                }
                if kind == .kafka {
                    let tansu = try await LocalTansu.start(in: try Self.folder("tansu", in: folder))
                    servers.append(track(tansu.process))
                    kafka = ["--kafka", tansu.bootstrap]
                }
            }
            let databaseFlags = database.map { [$0.flag, $0.url] } ?? []
            let flags = (redisURL.map { ["--redis", $0] } ?? []) + databaseFlags
            var targets: [LoadTarget] = []
            for index in 1...(kind == .embedded ? 1 : instances) {
                let port = try LoopbackPort.free()
                var arguments = [
                    "serve", "--host", "127.0.0.1", "--port", "\(port)", "--admin-token", token, "--default-limit", "\(limit)",
                    "--log-level", "warning",
                ]
                arguments += kind == .embedded ? ["--data-dir", folder.appending(path: "data").path] : flags
                let name = kind == .embedded ? "serve" : "serve \(index)"
                coupongate.append(track(try Self.coupongate(name, arguments, in: folder)))
                targets.append(LoadTarget(host: "127.0.0.1", port: port))
            }
            if kind != .embedded {
                coupongate.append(track(try Self.coupongate("relay", ["relay", "--log-level", "warning"] + flags + kafka, in: folder)))
            }
            if kind == .kafka {
                coupongate.append(track(try Self.coupongate("consume", ["consume", "--log-level", "warning"] + kafka + databaseFlags, in: folder)))
            }
            var distributed: DistributedConfiguration?
            if let redisURL, let database {
                distributed = try DistributedConfiguration(
                    redis: redisURL,
                    postgres: database.flag == "--postgres" ? database.url : nil,
                    mysql: database.flag == "--mysql" ? database.url : nil,
                    withRelay: false,
                    environment: [:]
                )
            }
            return LoadStack(
                kind: kind,
                folder: folder,
                targets: targets,
                adminToken: token,
                processes: coupongate + servers,
                distributed: distributed,
                kafkaBrokers: kafka.last
            )
        } catch {
            await Self.stop(coupongate + servers, folder: folder, keep: keep)
            throw error
        }
    }

    /// A child `coupongate` (this executable) with `arguments`, its output in `folder`/NAME.log. It gets
    /// no `COUPONGATE_…` setting of this shell: the stack is what the flags say.
    private static func coupongate(_ name: String, _ arguments: [String], in folder: URL) throws -> LocalProcess {
        try LocalProcess.start(
            name: name,
            executable: URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().path,
            arguments: arguments,
            logFile: folder.appending(path: "\(name.replacingOccurrences(of: " ", with: "-")).log"),
            environment: ServerConfiguration.withoutSettings(ProcessInfo.processInfo.environment)
        )
    }

    /// A fresh folder name under the temporary directory.
    static func newFolder() -> URL {
        FileManager.default.temporaryDirectory.appending(path: "coupongate-stack-\(UUID().uuidString.prefix(8).lowercased())")
    }

    private static func folder(_ name: String, in parent: URL) throws -> URL {
        let folder = parent.appending(path: name)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        return folder
    }

    var description: LoadResults.StackDescription {
        .init(name: self.kind.rawValue, processes: ["generator"] + self.processes.map(\.name))
    }

    /// CPU seconds so far of each process (the generator, this one, first).
    func cpuSeconds() -> [Double] {
        [CPUTime.ofThisProcess] + self.processes.map(\.cpuSeconds)
    }

    /// Waits until the database of record holds `winners` coupons of `campaign` and nothing is in flight;
    /// then, on the `kafka` stack, reads the topic. Returns what the pipeline held (the rows at the
    /// deadline if it never drained); nil for `embedded`.
    func drained(
        _ campaign: CampaignID,
        winners: Int,
        timeout: Duration = .seconds(120),
        logger: Logger
    ) async throws
        -> PhaseResult.PipelineCounts?
    {
        guard let distributed else { return nil }
        let started = ContinuousClock.now
        var report = try await reconcile(campaign, repair: false, distributed: distributed, logger: logger)
        while !(report.databaseRows == winners && report.inFlight.isEmpty), ContinuousClock.now - started < timeout {
            try await Task.sleep(for: .milliseconds(250))
            report = try await reconcile(campaign, repair: false, distributed: distributed, logger: logger)
        }
        let elapsed = ContinuousClock.now - started
        var counts = PhaseResult.PipelineCounts(
            databaseRows: report.databaseRows,
            drainSeconds: Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        )
        if let kafkaBrokers {
            let topic = try await CouponTopicCount.read(
                KafkaSinkSettings.defaultTopic,
                brokers: kafkaBrokers,
                campaign: campaign,
                epoch: report.epoch,
                expected: winners,
                logger: logger
            )
            counts.topicEvents = topic.events
            counts.topicDistinctWinners = topic.distinctUsers
        }
        return counts
    }

    /// The end of every process's log, for an error report.
    var logTails: String {
        self.processes.map { "--- \($0.name) (\($0.logFile.path)):\n\($0.logTail(lines: 10))" }.joined(separator: "\n")
    }

    /// Stops every process (CouponGate's first, so they finish against live servers), then removes the
    /// folder unless `keep`.
    func stop(keep: Bool) async {
        await Self.stop(self.processes, folder: self.folder, keep: keep)
    }

    static func stop(_ processes: [LocalProcess], folder: URL, keep: Bool) async {
        for process in processes { await process.stop() }
        if !keep { try? FileManager.default.removeItem(at: folder) }
    }
}
