import CouponStore
import CouponTestSupport
import Foundation

/// A PostgreSQL cluster of one test's own, made by `scripts/postgres-server.sh` in a temporary state
/// directory, so the test can stop and restart it without disturbing the shared server that the
/// other tests use in parallel. It is always deleted afterwards, also when the test fails.
struct PrivatePostgresServer: Sendable {
    struct ScriptFailed: Error, CustomStringConvertible {
        var command: String
        var status: Int32
        var stderr: String
        var description: String { "scripts/postgres-server.sh \(self.command) exited with \(self.status): \(self.stderr)" }
    }

    static let script = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("scripts/postgres-server.sh").path

    let stateDirectory: String

    /// Starts a new cluster, runs `body` with it and its URL, then stops and deletes it.
    static func with<T>(_ body: (PrivatePostgresServer, PostgresURL) async throws -> T) async throws -> T {
        // The shared server's variable says scripts/test.sh has prepared PostgreSQL on this machine.
        _ = try TestPostgres.url()
        let state = FileManager.default.temporaryDirectory.appendingPathComponent("cg-private-pg-\(UUID().uuidString)").path
        let server = PrivatePostgresServer(stateDirectory: state)
        defer { try? FileManager.default.removeItem(atPath: state) }
        do {
            let url = try PostgresURL(try await server.run("start"))
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
        process.arguments = [Self.script, command, self.stateDirectory]
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
                command: command,
                status: process.terminationStatus,
                stderr: (try? String(contentsOf: stderrURL, encoding: .utf8)) ?? ""
            )
        }
        return stdout.split(whereSeparator: \.isNewline).last.map(String.init) ?? ""
    }
}
