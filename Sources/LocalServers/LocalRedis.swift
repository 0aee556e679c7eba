import Foundation

/// A throwaway redis-server on loopback. By default as an operator runs the gate's Redis: an AOF
/// with `appendfsync always`, so an acknowledged write survives a crash; never RDB snapshots.
///
/// The one place that knows redis-server's command line: the tests' `RedisServerProcess` (which
/// kills and restarts its server on the same port) builds it here too.
public struct LocalRedis: Sendable {
    public struct Options: Sendable {
        /// Keep an AOF fsynced on every write.
        public var appendOnly = true
        /// Require this password (`--requirepass`).
        public var password: String?
        /// Listen on this unix socket too.
        public var unixSocket: String?
        /// Run as a Redis Cluster node with this bus port.
        public var clusterBusPort: Int?
        /// Allow DEBUG (SLEEP, to stall a server on demand) from loopback clients.
        public var debugCommand = false

        public init() {}
    }

    public let port: Int
    public let process: LocalProcess
    public var url: String { "redis://127.0.0.1:\(self.port)" }

    /// `$REDIS_SERVER`, else redis-server from PATH.
    public static func executable() throws(LocalServerError) -> String {
        try LocalExecutable.find(["redis-server"], variable: "REDIS_SERVER", package: "redis-server")
    }

    /// redis-server's arguments for `port`, with its files (AOF, `redis.log`, cluster state) in `directory`.
    public static func arguments(port: Int, directory: URL, options: Options = .init()) -> [String] {
        var arguments = [
            "--port", "\(port)", "--bind", "127.0.0.1", "--dir", directory.path,
            "--logfile", directory.appending(path: "redis.log").path, "--save", "",
            "--appendonly", options.appendOnly ? "yes" : "no", "--appendfsync", "always", "--daemonize", "no",
        ]
        if let socket = options.unixSocket { arguments += ["--unixsocket", socket, "--unixsocketperm", "700"] }
        if options.debugCommand { arguments += ["--enable-debug-command", "local"] }
        if let password = options.password { arguments += ["--requirepass", password] }
        if let bus = options.clusterBusPort {
            arguments += [
                "--cluster-enabled", "yes", "--cluster-port", "\(bus)",
                "--cluster-config-file", directory.appending(path: "nodes.conf").path,
                // A failed master is noticed (and a replica promoted) within 2 s rather than 15.
                "--cluster-node-timeout", "2000",
            ]
        }
        return arguments
    }

    /// Starts redis-server in `directory` and returns once it accepts connections.
    public static func start(in directory: URL, options: Options = .init()) async throws -> LocalRedis {
        let executable = try Self.executable()
        let port = try LoopbackPort.free()
        let process = try LocalProcess.start(
            name: "redis-server",
            executable: executable,
            arguments: Self.arguments(port: port, directory: directory, options: options),
            // redis-server writes its log itself (--logfile); this one catches what it prints before.
            logFile: directory.appending(path: "redis-console.log")
        )
        try await process.waitUntil("ready on 127.0.0.1:\(port)") { LoopbackPort.accepts(port) }
        return LocalRedis(port: port, process: process)
    }
}
