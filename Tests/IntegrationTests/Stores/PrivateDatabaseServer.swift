import CouponMySQL
import CouponStore
import CouponTestSupport
import Foundation

/// A database server of one test's own, made by `servers/postgres-server.sh` or `servers/mariadb-server.sh`
/// in a temporary state directory, so the test can stop and restart it without disturbing the shared
/// server that the other tests use in parallel. It is always deleted afterwards, also when the test fails.
struct PrivateDatabaseServer: Sendable {
    struct ScriptFailed: Error, CustomStringConvertible {
        var command: String
        var status: Int32
        var stderr: String
        var description: String { "\(self.command) exited with \(self.status): \(self.stderr)" }
    }

    /// The repository's servers/ folder (this file is Tests/IntegrationTests/Stores/PrivateDatabaseServer.swift).
    static let scripts = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("servers")

    let script: String
    let stateDirectory: String
    /// Extra environment for the script (e.g. `COUPONGATE_MARIADB_TLS=off`).
    var environment: [String: String] = [:]

    /// Starts a PostgreSQL cluster of its own, runs `body` with it and its URL, then stops and deletes it.
    static func postgres<T>(_ body: (PrivateDatabaseServer, PostgresURL) async throws -> T) async throws -> T {
        // The shared server's variable says scripts/test.sh has prepared PostgreSQL on this machine.
        _ = try TestPostgres.url()
        return try await Self.with(script: "postgres-server.sh") { server, text in try await body(server, try PostgresURL(text)) }
    }

    /// Starts a MariaDB server of its own, runs `body` with it and its URL, then stops and deletes it.
    ///
    /// - Parameter tls: Whether the server offers TLS (the shared one does).
    static func mysql<T>(tls: Bool = true, _ body: (PrivateDatabaseServer, MySQLURL) async throws -> T) async throws -> T {
        _ = try TestMySQL.url()
        return try await Self.with(script: "mariadb-server.sh", environment: ["COUPONGATE_MARIADB_TLS": tls ? "on" : "off"]) { server, text in
            try await body(server, try MySQLURL(text))
        }
    }

    private static func with<T>(
        script: String,
        environment: [String: String] = [:],
        _ body: (PrivateDatabaseServer, String) async throws -> T
    ) async throws -> T {
        let state = FileManager.default.temporaryDirectory.appendingPathComponent("cg-private-db-\(UUID().uuidString)").path
        let server = PrivateDatabaseServer(
            script: Self.scripts.appendingPathComponent(script).path,
            stateDirectory: state,
            environment: environment
        )
        defer { try? FileManager.default.removeItem(atPath: state) }
        do {
            let url = try await server.run("start")
            let result = try await body(server, url)
            _ = try await server.run("stop")
            return result
        } catch {
            _ = try? await server.run("stop")
            throw error
        }
    }

    /// Stops the server, keeping its data; ``start()`` resumes it at the same URL.
    func halt() async throws {
        _ = try await self.run("halt")
    }

    func start() async throws {
        _ = try await self.run("start")
    }

    /// Runs the script and returns the last line it printed.
    private func run(_ command: String) async throws -> String {
        let outputs = FileManager.default.temporaryDirectory.appendingPathComponent("cg-script-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: outputs, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: outputs) }
        let stdoutURL = outputs.appendingPathComponent("stdout")
        let stderrURL = outputs.appendingPathComponent("stderr")
        _ = FileManager.default.createFile(atPath: stdoutURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: stderrURL.path, contents: nil)

        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = [self.script, command, self.stateDirectory]
        process.environment = ProcessInfo.processInfo.environment.merging(self.environment) { _, new in new }
        // Files, not pipes: nothing has to drain them while the script runs.
        process.standardOutput = try FileHandle(forWritingTo: stdoutURL)
        process.standardError = try FileHandle(forWritingTo: stderrURL)
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            process.terminationHandler = { _ in continuation.resume() }
            do {
                try process.run()
            } catch {
                continuation.resume(throwing: error)
            }
        }
        let stdout = (try? String(contentsOf: stdoutURL, encoding: .utf8)) ?? ""
        guard process.terminationStatus == 0 else {
            throw ScriptFailed(
                command: "\(self.script) \(command)",
                status: process.terminationStatus,
                stderr: (try? String(contentsOf: stderrURL, encoding: .utf8)) ?? ""
            )
        }
        return stdout.split(whereSeparator: \.isNewline).last.map(String.init) ?? ""
    }
}
