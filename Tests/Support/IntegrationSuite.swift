import Foundation
import Synchronization
import Testing

/// The one switch for the tests that need real servers (redis-server, PostgreSQL, MariaDB, a
/// Redis Cluster): `COUPONGATE_INTEGRATION=1`, which scripts/test.sh sets after starting them.
///
/// On a suite it is the parent of every integration suite of a target (`Tests/IntegrationTests`,
/// `Tests/ClusterIntegrationTests`). Switched off (a bare `swift test`), the suites' tests are not
/// run at all and one line says how many were left out and how to run them; switched on, every
/// test runs and a missing server is a failure, never a skip.
public struct IntegrationSuite: SuiteTrait, TestScoping {
    public static let variable = "COUPONGATE_INTEGRATION"

    /// The folders of the integration targets, under Tests/.
    static let targets = ["IntegrationTests", "ClusterIntegrationTests"]

    public static var isEnabled: Bool { ProcessInfo.processInfo.environment[Self.variable] == "1" }

    /// The children are run (or not) by this suite's scope, not each by its own.
    public var isRecursive: Bool { false }

    public init() {}

    public func provideScope(
        for test: Test,
        testCase: Test.Case?,
        performing function: @Sendable () async throws -> Void
    ) async throws {
        if Self.isEnabled {
            try await function()
        } else {
            Self.reportNotRun()
        }
    }

    private static let reported = Mutex(false)

    /// Prints the one line, once per run, whichever integration target gets here first.
    static func reportNotRun() {
        let first = Self.reported.withLock { reported in
            defer { reported = true }
            return !reported
        }
        guard first else { return }
        let count = Self.testsInTargets().map(String.init) ?? "the"
        print(
            "swift test: \(count) integration tests (Tests/\(Self.targets.joined(separator: ", Tests/"))) and the store contract's "
                + "PostgreSQL and MariaDB cases not run: they need redis-server, PostgreSQL and MariaDB. "
                + "scripts/test.sh starts them and runs every test with \(Self.variable)=1."
        )
    }

    /// The `@Test` functions of the suites under the parent suites, counted in the integration targets'
    /// sources (nil when the sources are not beside the build).
    static func testsInTargets() -> Int? {
        // Tests/Support/IntegrationSuite.swift → Tests/
        let tests = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        var count = 0
        for target in Self.targets {
            guard let files = FileManager.default.enumerator(atPath: tests.appendingPathComponent(target).path) else { return nil }
            for case let file as String in files where file.hasSuffix(".swift") {
                let text = (try? String(contentsOf: tests.appendingPathComponent(target).appendingPathComponent(file), encoding: .utf8)) ?? ""
                // Only suites nested in the parent are switched off (the store contract runs on SQLite anyway).
                guard text.contains("extension \(target) {") else { continue }
                count += text.split(separator: "\n").filter { $0.drop(while: { $0 == " " }).hasPrefix("@Test") }.count
            }
        }
        return count
    }
}

extension Trait where Self == IntegrationSuite {
    /// Runs the suite's tests only with `COUPONGATE_INTEGRATION=1` (see ``IntegrationSuite``).
    public static var integration: Self { IntegrationSuite() }
}
