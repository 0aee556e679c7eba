import Foundation
import Testing

/// The HTTP layer knows the gate, not the wire clients: `CouponServer` reaches Redis through
/// `CouponRedis` only, and times things with swift-metrics, not a helper of the Redis module.
@Suite struct ArchitectureTests {
    /// Sources/CouponServer, from this file's place in the repository.
    static let serverSources = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Sources/CouponServer")

    static func imports(in folder: URL) throws -> [(file: String, module: String)] {
        let files = try #require(FileManager.default.enumerator(atPath: folder.path)).compactMap { $0 as? String }
        return try files.filter { $0.hasSuffix(".swift") }.flatMap { file in
            try String(contentsOf: folder.appendingPathComponent(file), encoding: .utf8)
                .split(separator: "\n")
                .compactMap { line -> (String, String)? in
                    let words = line.split(separator: " ")
                    guard let index = words.firstIndex(of: "import"), index + 1 < words.count else { return nil }
                    return (file, String(words[index + 1]))
                }
        }
    }

    @Test func theServerDoesNotImportTheRedisWireClient() throws {
        let imports = try Self.imports(in: Self.serverSources)
        #expect(imports.count > 50, "the sources were read: \(imports.count) imports")
        let wire = imports.filter { $0.module == "RESP" }.map(\.file)
        #expect(wire.isEmpty, "these import RESP; go through CouponRedis: \(wire)")
    }
}
