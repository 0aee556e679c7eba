import CouponServer
import Foundation
import LoadGen
import NIOCore
import NIOPosix

/// `coupongate serve` on the embedded default, started by `loadtest` when no `--url` is
/// given: a child process (so the generator's and the server's CPU are measured apart) on a
/// free loopback port, with its own data folder, stopped with SIGTERM afterwards.
struct EmbeddedServerProcess {
    let process: Process
    let target: LoadTarget
    let adminToken: String
    let folder: URL
    let logFile: URL

    static func start(limit: Int, group: any EventLoopGroup) async throws -> EmbeddedServerProcess {
        let folder = FileManager.default.temporaryDirectory.appending(path: "coupongate-loadtest-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let port = try await freePort(group: group)
        let token = "loadtest-" + UUID().uuidString
        let logFile = folder.appending(path: "serve.log")
        _ = FileManager.default.createFile(atPath: logFile.path, contents: nil)
        let log = try FileHandle(forWritingTo: logFile)

        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        process.arguments = [
            "serve", "--host", "127.0.0.1", "--port", String(port),
            "--data-dir", folder.appending(path: "data").path,
            "--default-limit", String(limit), "--admin-token", token, "--log-level", "warning",
        ]
        // The child must be the embedded default whatever this shell exports: no Redis or
        // database URL, no auth mode, rate or in-flight limit of the parent's.
        process.environment = ServerConfiguration.withoutSettings(ProcessInfo.processInfo.environment)
        process.standardOutput = log
        process.standardError = log
        try process.run()
        return EmbeddedServerProcess(
            process: process,
            target: LoadTarget(host: "127.0.0.1", port: port),
            adminToken: token,
            folder: folder,
            logFile: logFile
        )
    }

    /// The CPU time the server has used so far, from /proc.
    var cpuSeconds: Double? { CPUTime.ofProcess(process.processIdentifier) }

    /// The end of the server's log, for an error message.
    var logTail: String {
        let text = (try? String(contentsOf: logFile, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").suffix(10).joined(separator: "\n")
    }

    /// SIGTERM, then wait (the server drains and commits before it exits); SIGKILL after 30 s.
    func stop() async {
        if process.isRunning {
            process.terminate()
            for _ in 0..<300 where process.isRunning {
                try? await Task.sleep(for: .milliseconds(100))
            }
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        }
        try? FileManager.default.removeItem(at: folder)
    }

    /// A port the kernel says is free now (bound and released at once).
    private static func freePort(group: any EventLoopGroup) async throws -> Int {
        let channel = try await ServerBootstrap(group: group).bind(host: "127.0.0.1", port: 0).get()
        let port = channel.localAddress?.port ?? 0
        try await channel.close()
        guard port > 0 else { throw LoadGenError.targetUnreachable("could not find a free loopback port") }
        return port
    }
}
