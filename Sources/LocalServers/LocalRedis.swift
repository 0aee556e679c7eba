import Foundation

/// A throwaway redis-server on loopback, as an operator runs the gate's Redis: an AOF with
/// `appendfsync always`, so an acknowledged write survives a crash; no RDB snapshots.
public struct LocalRedis: Sendable {
    public let port: Int
    public let process: LocalProcess
    public var url: String { "redis://127.0.0.1:\(self.port)" }

    /// Starts redis-server in `directory` (its AOF and `redis.log` there) and returns once it accepts connections.
    public static func start(in directory: URL) async throws -> LocalRedis {
        let executable = try LocalExecutable.find(["redis-server"], variable: "REDIS_SERVER", package: "redis-server")
        let port = try LoopbackPort.free()
        let process = try LocalProcess.start(
            name: "redis-server",
            executable: executable,
            arguments: [
                "--port", "\(port)", "--bind", "127.0.0.1", "--dir", directory.path, "--save", "",
                "--appendonly", "yes", "--appendfsync", "always", "--daemonize", "no",
            ],
            logFile: directory.appending(path: "redis.log")
        )
        try await process.waitUntil("ready on 127.0.0.1:\(port)") { LoopbackPort.accepts(port) }
        return LocalRedis(port: port, process: process)
    }
}
