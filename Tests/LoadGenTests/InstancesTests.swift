import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import NIOPosix
import Synchronization
import Testing

@testable import LoadGen

/// `LoadRunner.Options.instances`: the virtual users' connections spread over every instance.
@Suite struct InstancesTests {
    final class Counter: Sendable {
        let value = Mutex(0)
    }

    /// A stand-in API instance that counts the applies it answers (always sold out).
    static func instance(counting applies: Counter) -> some ApplicationProtocol {
        let router = Router()
        router.get("/health/ready") { _, _ in "ok" }
        router.post("/admin/campaigns/default/reset") { _, _ in "{}" }
        router.get("/campaigns/default") { _, _ in #"{"limit":0,"issued":0}"# }
        router.post("/coupon/apply") { _, _ -> Response in
            applies.value.withLock { $0 += 1 }
            return Response(status: .unprocessableContent)
        }
        var logger = Logger(label: "instances-test")
        logger.logLevel = .warning
        return Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)), logger: logger)
    }

    @Test func virtualUsersSpreadOverEveryInstance() async throws {
        let first = Counter()
        let second = Counter()
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let result = try await Self.instance(counting: first).test(.live) { one in
            try await Self.instance(counting: second).test(.live) { two in
                var options = LoadRunner.Options(
                    target: LoadTarget(host: "127.0.0.1", port: try #require(one.port)),
                    campaign: "default",
                    adminToken: "token"
                )
                options.instances = [LoadTarget(host: "127.0.0.1", port: try #require(two.port))]
                let runner = LoadRunner(options: options, group: group, progress: nil)
                return try await runner.run(LoadPhase(name: "custom", stages: [Stage(vus: 10, duration: .milliseconds(500))]))
            }
        }
        try await group.shutdownGracefully()
        let (a, b) = (first.value.withLock { $0 }, second.value.withLock { $0 })
        #expect(a + b == result.totals.status[.soldOut422], "every apply was answered by one of the two")
        // Ten VUs alternate between the two: five each, so neither gets much more than the other.
        #expect(a > 0 && b > 0 && Double(min(a, b)) >= 0.25 * Double(a + b), "applies: \(a) and \(b)")
    }
}
