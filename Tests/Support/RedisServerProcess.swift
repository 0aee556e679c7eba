import Foundation
import LocalServers
import Logging
import NIOCore
import NIOPosix
import Synchronization

@testable import RESP

/// A private `redis-server` for one test: started on a free loopback port and a unix socket in a
/// temporary directory, with persistence off, and killed when the test is done.
///
/// Copy this approach for other integration tests: every test gets its own server, so tests run in
/// parallel and can kill or restart "their" Redis without disturbing the others. Nothing is left behind:
/// `stop()` (or, as a safety net, `deinit`) kills the process and deletes the directory.
///
/// ```swift
/// let server = try await RedisServerProcess.start()
/// defer { server.stop() }
/// let client = RedisClient(configuration: server.configuration(), logger: logger)
/// ```
///
/// The binary is `$REDIS_SERVER` if set, else `redis-server` from `PATH`. If it is missing, `start()`
/// throws (the test fails, it is never skipped) with a message saying how to install it.
public final class RedisServerProcess: Sendable {
    /// The loopback TCP port, kept across `restart()`.
    public let port: Int
    /// The unix socket, kept across `restart()`.
    public let unixSocketPath: String
    /// The password set with `--requirepass`, if any.
    public let password: String?
    /// Holds the socket, `redis.log` and, with `appendOnly`, the AOF (no RDB snapshots: `--save ""`).
    public let directory: URL
    private let executable: String
    private let process: Mutex<Process?>

    private let appendOnly: Bool
    /// The cluster bus port when the server runs in cluster mode (`--cluster-enabled yes`).
    public let clusterBusPort: Int?

    private init(executable: String, port: Int, directory: URL, password: String?, appendOnly: Bool, clusterBusPort: Int?) {
        self.appendOnly = appendOnly
        self.clusterBusPort = clusterBusPort
        self.executable = executable
        self.port = port
        self.directory = directory
        self.unixSocketPath = directory.appendingPathComponent("redis.sock").path
        self.password = password
        self.process = Mutex(nil)
    }

    deinit {
        self.stop()
    }

    /// Starts a server and returns once it answers `PING`.
    /// - Parameters:
    ///   - password: when set, the server requires it (`--requirepass`).
    ///   - appendOnly: keep an AOF with `appendfsync always` in the server's directory, so a
    ///     `kill()` then `restart()` comes back with every acknowledged write (docs/DISTRIBUTED.md, "What a 200 means").
    ///   - clusterEnabled: run as a Redis Cluster node (no slots yet; `RedisClusterProcess` joins nodes into a cluster).
    public static func start(password: String? = nil, appendOnly: Bool = false, clusterEnabled: Bool = false) async throws -> RedisServerProcess {
        let executable = try LocalRedis.executable()
        // Another process may grab the free port between our probe and redis-server's bind: try again then.
        var lastError: (any Error)?
        for _ in 0..<3 {
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("resp-tests-\(UUID().uuidString.prefix(8))")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            let server = RedisServerProcess(
                executable: executable,
                port: try LoopbackPort.free(),
                directory: directory,
                password: password,
                appendOnly: appendOnly,
                // Not port + 10000 (Redis's default), which may lie past 65535 for an ephemeral port.
                clusterBusPort: clusterEnabled ? try LoopbackPort.free() : nil
            )
            do {
                try await server.launch()
                return server
            } catch {
                server.stop()
                lastError = error
            }
        }
        throw lastError ?? RedisServerError("redis-server did not start")
    }

    /// A client configuration for this server over TCP (with its password).
    public func configuration() -> RedisConfiguration {
        var configuration = RedisConfiguration(endpoint: .tcp(host: "127.0.0.1", port: self.port))
        configuration.password = self.password
        return configuration
    }

    /// The process id of the running server, if any.
    public var processIdentifier: Int32? {
        self.process.withLock { $0?.isRunning == true ? $0?.processIdentifier : nil }
    }

    /// Kills the server with SIGKILL, as a crash would: no reply, no clean close by Redis.
    public func kill() async {
        guard let pid = self.processIdentifier else { return }
        sendSignal(SIGKILL, to: pid)
        while self.processIdentifier != nil {
            try? await Task.sleep(for: .milliseconds(5))
        }
    }

    /// Starts the server again on the same port and socket, and returns once it answers.
    public func restart() async throws {
        await self.kill()
        try await self.launch()
    }

    /// Kills the server and deletes its directory. Safe to call more than once.
    public func stop() {
        self.process.withLock { process in
            if let process, process.isRunning {
                sendSignal(SIGKILL, to: process.processIdentifier)
                process.waitUntilExit()
            }
            process = nil
        }
        try? FileManager.default.removeItem(at: self.directory)
    }

    // MARK: Launching

    private func launch() async throws {
        var options = LocalRedis.Options()
        options.appendOnly = self.appendOnly
        options.password = self.password
        options.unixSocket = self.unixSocketPath
        options.clusterBusPort = self.clusterBusPort
        // DEBUG SLEEP makes a server stall on demand, from loopback clients only.
        options.debugCommand = true
        let arguments = LocalRedis.arguments(port: self.port, directory: self.directory, options: options)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: self.executable)
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        self.process.withLock { $0 = process }
        try await self.waitUntilReady()
    }

    /// Polls with PING until the server answers, for up to 10 s; fails early if the process exits.
    private func waitUntilReady() async throws {
        var configuration = self.configuration()
        configuration.connectTimeout = .milliseconds(200)
        configuration.commandTimeout = .milliseconds(500)
        let deadline = ContinuousClock.now + .seconds(10)
        var lastError: (any Error)?
        while ContinuousClock.now < deadline {
            guard self.processIdentifier != nil else {
                throw RedisServerError("redis-server exited during start-up; its log:\n\(self.logTail())")
            }
            do {
                let connection = try await RedisConnection.connect(
                    configuration: configuration,
                    eventLoop: MultiThreadedEventLoopGroup.singleton.next(),
                    logger: Logger(label: "RedisServerProcess")
                )
                defer { connection.close() }
                if try await connection.send(RedisCommand("PING")) == .simpleString("PONG") {
                    return
                }
            } catch {
                lastError = error
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw RedisServerError("redis-server did not answer PING within 10 s (\(lastError.map { "\($0)" } ?? "")); its log:\n\(self.logTail())")
    }

    private func logTail() -> String {
        let log = (try? String(contentsOf: self.directory.appendingPathComponent("redis.log"), encoding: .utf8)) ?? "(no log)"
        return log.split(separator: "\n").suffix(20).joined(separator: "\n")
    }
}

/// `kill(2)`, out of the reach of `RedisServerProcess.kill()`'s name.
private func sendSignal(_ signal: Int32, to pid: Int32) {
    _ = kill(pid, signal)
}

/// Why a test's Redis server could not be started.
public struct RedisServerError: Error, CustomStringConvertible {
    public let description: String

    init(_ description: String) {
        self.description = description
    }
}
