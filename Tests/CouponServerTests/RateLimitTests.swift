import CouponCore
import Foundation
import HTTPTypes
import HummingbirdTesting
import Logging
import Testing

@testable import CouponServer

@Suite struct RateLimitTests {
    @Test func aBucketRefillsAtItsRateUpToItsBurst() {
        let buckets = TokenBuckets<Int>(rate: 2, burst: 2)
        let start = ContinuousClock.now
        #expect(buckets.take(1, now: start) == nil)
        #expect(buckets.take(1, now: start) == nil)
        let wait = buckets.take(1, now: start)
        let halfSecond = wait.map { $0 > .milliseconds(400) && $0 <= .milliseconds(500) }
        #expect(halfSecond == true, "half a second to the next token: \(String(describing: wait))")
        #expect(buckets.take(2, now: start) == nil, "another key has its own bucket")
        #expect(buckets.take(1, now: start + .milliseconds(500)) == nil, "refilled at 2 a second")
        #expect(buckets.take(1, now: start + .milliseconds(500)) != nil)
        // Idle for long, it holds no more than its burst.
        let later = start + .seconds(60)
        #expect(buckets.take(1, now: later) == nil)
        #expect(buckets.take(1, now: later) == nil)
        #expect(buckets.take(1, now: later) != nil)
    }

    @Test func manyKeysDoNotGrowTheMapWithoutBound() {
        let buckets = TokenBuckets<Int>(rate: 1, burst: 1, maxKeys: 1_000)
        let start = ContinuousClock.now
        for key in 0..<10_000 {
            _ = buckets.take(key, now: start + .milliseconds(key))
        }
        #expect(buckets.count <= 1_000)
    }

    @Test func appliesBeyondAUsersRateAre429WithRetryAfterAndOtherUsersGoOn() async throws {
        try await TestSupport.withDirectory { directory in
            var configuration = TestSupport.configuration(directory: directory, defaultLimit: 100)
            configuration.userRateLimit = 2
            let app = try await buildApplication(configuration, logger: Logger(label: "test"))
            try await app.test(.router) { client in
                #expect(try await client.apply("7").status == .ok)
                #expect(try await client.apply("7").status == .conflict)
                // A token comes back every half second: on a loaded machine (the suites run in
                // parallel) one may between two requests, so the limit must come within a few more.
                var answers: [HTTPResponse.Status] = []
                var found: TestResponse?
                while found == nil, answers.count < 20 {
                    let response = try await client.apply("7")
                    answers.append(response.status)
                    if response.status == .tooManyRequests { found = response }
                }
                #expect(answers.allSatisfy { $0 == .conflict || $0 == .tooManyRequests }, "the winner's retries: \(answers)")
                let limited = try #require(found, "user 7 was never limited: \(answers)")
                try limited.expectProblem(.tooManyRequests, kind: "rate-limited")
                #expect(limited.headers[.retryAfter] == "1")
                #expect(try await client.apply("8").status == .ok, "another user is not limited")
            }
        }
    }

    @Test func aClientAddressIsLimitedAcrossUsers() async throws {
        try await TestSupport.withDirectory { directory in
            var configuration = TestSupport.configuration(directory: directory, defaultLimit: 100)
            configuration.clientRateLimit = 3
            let app = try await buildApplication(configuration, logger: Logger(label: "test"))
            // A live server: the router test client has no peer address.
            try await app.test(.live) { client in
                for user in 1...3 {
                    #expect(try await client.apply(String(user)).status == .ok)
                }
                // The bucket refills 3 tokens a second: on a loaded machine one may come back between
                // requests, so the next few users (not only the fourth) must meet the limit.
                var limited: TestResponse?
                for user in 4...12 where limited == nil {
                    let response = try await client.apply(String(user))
                    if response.status == .tooManyRequests { limited = response }
                }
                let refused = try #require(limited, "the client address was never limited")
                try refused.expectProblem(.tooManyRequests, kind: "rate-limited")
                let detail = try refused.json["detail"] as? String
                #expect(detail?.contains("127.0.0.1") == true, "\(detail ?? "")")
            }
        }
    }
}
