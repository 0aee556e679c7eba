import CouponServer
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import NIOPosix
import Testing

@testable import LoadGen

/// The four seed phases, scaled to a few seconds, against the embedded server: every
/// request counted once, the invariants checked, every report file written.
@Suite struct EndToEndTests {
    static let token = "loadgen-test-token-0123456789"

    @Test func allFourPhasesAgainstTheEmbeddedServer() async throws {
        let directory = FileManager.default.temporaryDirectory.appending(path: "lg-e2e-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        var configuration = ServerConfiguration(adminToken: AdminToken(Self.token))
        configuration.dataDirectory = directory.appending(path: "data").path
        configuration.defaultLimit = 100
        configuration.port = 0
        configuration.logLevel = .warning
        var logger = Logger(label: "loadgen-test")
        logger.logLevel = .warning
        let app = try await buildApplication(configuration, logger: logger)

        let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        let results: LoadResults
        do {
            results = try await app.test(.live) { client in
                let port = try #require(client.port)
                var options = LoadRunner.Options(
                    target: LoadTarget(host: "127.0.0.1", port: port),
                    campaign: "default",
                    adminToken: Self.token
                )
                options.requestTimeout = .seconds(5)
                let runner = LoadRunner(options: options, group: group, progress: nil)
                var phases: [PhaseResult] = []
                for (index, phase) in LoadPhase.seedPhases.enumerated() {
                    phases.append(try await runner.run(phase.scaled(by: 0.008), firstUser: Int64(index) * 1_000_000_000 + 1))
                }
                return LoadResults(
                    generator: "coupongate",
                    target: options.target.url,
                    path: options.target.path,
                    startedAt: "2026-11-24T00:00:00Z",
                    phases: phases
                )
            }
        } catch {
            try? await group.shutdownGracefully()
            throw error
        }
        try await group.shutdownGracefully()

        #expect(results.phases.map(\.name) == ["baseline", "rampup", "stress", "spike"])
        for phase in results.phases {
            #expect(phase.invariants.violations.isEmpty, "\(phase.name): \(phase.invariants.violations)")
            #expect(phase.totals.sent > 100, "\(phase.name)")
            // Sent = answered + errors, exactly.
            #expect(phase.totals.sent == phase.totals.status.total, "\(phase.name)")
            #expect(phase.series.map(\.requests).reduce(0, +) == phase.totals.sent, "\(phase.name)")
            // A reset before each phase: each one issues the whole limit again.
            #expect(phase.invariants.ok200 == 100 && phase.invariants.issued == 100, "\(phase.name)")
            #expect(phase.invariants.distinctWinners == 100, "\(phase.name)")
            #expect(phase.totals.status[.soldOut422] == phase.totals.sent - 100 - phase.totals.status.errors, "\(phase.name)")
        }
        // The ramp-up reached its top step and the spike came back down.
        #expect(results.phases[1].series.map(\.vus).max() == 1000)
        #expect(results.phases[3].series.last.map(\.vus) ?? 0 <= 10)

        let folder = directory.appending(path: "report")
        try ReportFiles.write(results, to: folder)
        for name in ReportFiles.names + ["charts/spike-latency.svg", "charts/rampup-vus.svg"] {
            #expect(FileManager.default.fileExists(atPath: folder.appending(path: name).path), "\(name)")
        }
    }
}
