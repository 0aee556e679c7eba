import Foundation

/// A throwaway PostgreSQL cluster on loopback, never the system's: initdb into its own folder, fsync
/// and synchronous commit on as on a real server, a SCRAM password over TCP. As root the server runs
/// as `postgres` (PostgreSQL refuses root), which then owns the folder.
public struct LocalPostgres: Sendable {
    public let port: Int
    public let password: String
    public let process: LocalProcess
    static let user = "coupongate"
    public var url: String { "postgres://\(Self.user):\(self.password)@127.0.0.1:\(self.port)/postgres" }

    /// Creates a cluster in `directory` (which must not exist yet), starts it and returns once it accepts queries.
    public static func start(in directory: URL) async throws -> LocalPostgres {
        let bin = try Self.binDirectory()
        let owner = getuid() == 0 ? "postgres" : nil
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let password = UUID().uuidString.replacingOccurrences(of: "-", with: "")
        let passwordFile = directory.appending(path: "pwfile")
        try Data((password + "\n").utf8).write(to: passwordFile)
        if let owner {
            for path in [directory.path, passwordFile.path] {
                try FileManager.default.setAttributes([.ownerAccountName: owner], ofItemAtPath: path)
            }
        }
        let data = directory.appending(path: "data").path
        try await LocalExecutable.run(
            "\(bin)/initdb",
            [
                "-D", data, "-U", Self.user, "--pwfile=\(passwordFile.path)", "--auth-local=trust", "--auth-host=scram-sha-256",
                "--encoding=UTF8", "--no-locale",
            ],
            user: owner
        )
        try? FileManager.default.removeItem(at: passwordFile)
        let port = try LoopbackPort.free()
        let process = try LocalProcess.start(
            name: "postgres",
            executable: "\(bin)/postgres",
            arguments: [
                "-D", data, "-p", "\(port)", "-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories=\(directory.path)",
                "-c", "max_connections=300", "-c", "fsync=on", "-c", "synchronous_commit=on",
            ],
            logFile: directory.appending(path: "postgres.log"),
            user: owner,
            // Fast shutdown: clients are disconnected, the cluster is left consistent (SIGTERM waits for them).
            stopSignal: SIGINT
        )
        try await process.waitUntil("ready on 127.0.0.1:\(port)") {
            (try? await LocalExecutable.run("\(bin)/pg_isready", ["-q", "-h", "127.0.0.1", "-p", "\(port)"])) != nil
        }
        return LocalPostgres(port: port, password: password, process: process)
    }

    /// The newest installed server's bin folder (Debian: /usr/lib/postgresql/VERSION/bin), or the one on PATH.
    static func binDirectory() throws(LocalServerError) -> String {
        let root = "/usr/lib/postgresql"
        let versions = ((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []).compactMap { name in Int(name).map { ($0, name) } }
        for (_, name) in versions.sorted(by: { $0.0 > $1.0 }) {
            let bin = "\(root)/\(name)/bin"
            if ["initdb", "postgres", "pg_isready"].allSatisfy({ FileManager.default.isExecutableFile(atPath: "\(bin)/\($0)") }) { return bin }
        }
        let initdb = try LocalExecutable.find(["initdb"], package: "postgresql")
        return (initdb as NSString).deletingLastPathComponent
    }
}
