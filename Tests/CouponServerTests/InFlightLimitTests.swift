import CouponTestSupport
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Synchronization
import Testing

@testable import CouponServer

/// The in-flight bound: beyond it, 503 with Retry-After at once, health and metrics exempt.
@Suite struct InFlightLimitTests {
    /// Requests to `/slow` wait here until `release()`.
    final class Latch: Sendable {
        private let waiting = Mutex<[CheckedContinuation<Void, Never>]>([])
        private let released = Mutex(false)

        func wait() async {
            await withCheckedContinuation { continuation in
                let resumeNow = self.released.withLock { $0 }
                if resumeNow {
                    continuation.resume()
                } else {
                    self.waiting.withLock { $0.append(continuation) }
                }
            }
        }

        var count: Int { self.waiting.withLock { $0.count } }

        func release() {
            self.released.withLock { $0 = true }
            for continuation in self.waiting.withLock({ $0 }) { continuation.resume() }
        }
    }

    @Test func beyondTheBoundRequestsAreTurnedAwayAtOnceAndHealthStillAnswers() async throws {
        let latch = Latch()
        let router = Router(context: CouponRequestContext.self)
        router.add(middleware: InFlightLimitMiddleware(limit: 2))
        router.get("/slow") { _, _ in
            await latch.wait()
            return "done"
        }
        router.get("/health/live") { _, _ in "ok" }
        let app = Application(router: router)
        try await app.test(.router) { client in
            try await withThrowingTaskGroup(of: HTTPResponse.Status.self) { group in
                for _ in 0..<2 {
                    group.addTask { try await client.execute(uri: "/slow", method: .get).status }
                }
                try await eventually("two requests are in flight") { latch.count == 2 }
                let started = ContinuousClock.now
                let turnedAway = try await client.execute(uri: "/slow", method: .get)
                #expect(ContinuousClock.now - started < .seconds(1), "answered at once, not queued")
                try turnedAway.expectProblem(.serviceUnavailable, kind: "overloaded")
                #expect(turnedAway.headers[.retryAfter] == "1")
                let health = try await client.execute(uri: "/health/live", method: .get)
                #expect(health.status == .ok, "health is exempt from the bound")
                latch.release()
                for try await status in group { #expect(status == .ok) }
            }
            let after = try await client.execute(uri: "/slow", method: .get)
            #expect(after.status == .ok, "the bound frees as requests finish")
        }
    }
}
