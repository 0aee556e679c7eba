import Foundation
import LocalServers
import Logging
import NIOCore
import NIOPosix

@testable import RESP

/// A private Redis Cluster for one test: cluster-enabled `redis-server`s on free loopback ports (see
/// `RedisServerProcess`), joined with `redis-cli --cluster create`, returned once every node reports
/// `cluster_state:ok` and every replica is in sync. `stop()` (or `deinit`) kills them all and deletes their directories.
///
/// ```swift
/// let cluster = try await RedisClusterProcess.start()
/// defer { cluster.stop() }
/// let client = RedisClusterClient(configuration: cluster.configuration(), logger: logger)
/// ```
///
/// It needs `redis-cli` beside `redis-server` (`$REDIS_CLI` if set, else from `PATH`).
public final class RedisClusterProcess: Sendable {
    /// Every node, masters and replicas, in the order `redis-cli` was given them; which is which is
    /// `redis-cli`'s choice (ask the node, or a client's slot map).
    public let nodes: [RedisServerProcess]
    private let replicasPerMaster: Int

    private init(nodes: [RedisServerProcess], replicasPerMaster: Int) {
        self.nodes = nodes
        self.replicasPerMaster = replicasPerMaster
    }

    deinit {
        self.stop()
    }

    /// Starts the nodes, creates the cluster and waits until it is ready (at most 20 s).
    /// - Parameters:
    ///   - masters: at least 3, as `redis-cli --cluster create` requires.
    ///   - replicasPerMaster: replicas of each master (a killed master's replica is promoted within a few seconds).
    public static func start(masters: Int = 3, replicasPerMaster: Int = 0) async throws -> RedisClusterProcess {
        let cli = try LocalExecutable.find(["redis-cli"], variable: "REDIS_CLI", package: "redis-tools")
        var nodes: [RedisServerProcess] = []
        do {
            for _ in 0..<masters * (1 + replicasPerMaster) {
                nodes.append(try await RedisServerProcess.start(clusterEnabled: true))
            }
            let cluster = RedisClusterProcess(nodes: nodes, replicasPerMaster: replicasPerMaster)
            try await cluster.create(cli: cli)
            try await cluster.waitUntilReady()
            return cluster
        } catch {
            for node in nodes {
                node.stop()
            }
            throw error
        }
    }

    /// The nodes' addresses, to seed a client with.
    public var seeds: [RedisConfiguration.Endpoint] {
        self.nodes.map { .tcp(host: "127.0.0.1", port: $0.port) }
    }

    /// A cluster client configuration seeded with every node.
    public func configuration() -> RedisClusterConfiguration {
        RedisClusterConfiguration(seeds: self.seeds, node: self.nodes[0].configuration())
    }

    /// Kills every node and deletes their directories. Safe to call more than once.
    public func stop() {
        for node in self.nodes {
            node.stop()
        }
    }

    // MARK: Creating the cluster

    private func create(cli: String) async throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: cli)
        process.arguments =
            ["--cluster", "create"] + self.nodes.map { "127.0.0.1:\($0.port)" } + [
                "--cluster-replicas", String(self.replicasPerMaster), "--cluster-yes",
            ]
        // To a file, not a pipe: waiting for a pipe's end would block a thread of the test's executor.
        let log = self.nodes[0].directory.appendingPathComponent("cluster-create.log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let output = try FileHandle(forWritingTo: log)
        defer { try? output.close() }
        process.standardOutput = output
        process.standardError = output
        try process.run()
        while process.isRunning {
            try await Task.sleep(for: .milliseconds(10))
        }
        let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        guard process.terminationStatus == 0 else {
            throw RedisServerError("redis-cli --cluster create failed (\(process.terminationStatus)):\n\(text)")
        }
    }

    /// Polls every node until each sees all slots served and every node known, and each replica is in sync.
    private func waitUntilReady() async throws {
        let deadline = ContinuousClock.now + .seconds(20)
        var lastInfo = ""
        while ContinuousClock.now < deadline {
            var ready = true
            for node in self.nodes {
                lastInfo = (try? await Self.info(node, RedisCommand("CLUSTER", ["INFO"]))) ?? "(no answer from \(node.port))"
                lastInfo += (try? await Self.info(node, RedisCommand("INFO", ["replication"]))) ?? ""
                let fields = lastInfo.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
                let synced =
                    fields.contains("role:master")
                    ? fields.contains("connected_slaves:\(self.replicasPerMaster)") : fields.contains("master_link_status:up")
                guard fields.contains("cluster_state:ok"), fields.contains("cluster_slots_ok:16384"),
                    fields.contains("cluster_known_nodes:\(self.nodes.count)"), synced
                else {
                    ready = false
                    break
                }
            }
            if ready {
                return
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw RedisServerError("the Redis Cluster was not ready within 20 s; last CLUSTER INFO:\n\(lastInfo)")
    }

    private static func info(_ node: RedisServerProcess, _ command: RedisCommand) async throws -> String {
        let connection = try await RedisConnection.connect(
            configuration: node.configuration(),
            eventLoop: MultiThreadedEventLoopGroup.singleton.next(),
            logger: Logger(label: "RedisClusterProcess")
        )
        defer { connection.close() }
        return try await connection.send(command).string ?? ""
    }
}
