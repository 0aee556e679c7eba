import CouponCore
import CouponRedis
import CouponTestSupport
import MetricsTestKit
import RESP
import Testing

extension IntegrationTests {
    /// The distributed-mode metrics: what the gate and the relay record, and the backlog any
    /// process can read from Redis.
    @Suite struct RedisMetricsTests {
        @Test func gateAndRelayRecordTheirWork() async throws {
            let metrics = TestMetrics()
            try await RedisStack.with(relay: OutboxRelayTests.fastRelay, metrics: metrics) { stack in
                let campaign = try await stack.campaign("m", limit: 3)
                for user in 1...10 { _ = try await stack.gates[0].apply(user: UserID(Int64(user)), campaign: campaign) }
                // Users 1-3 won and user 4 found it sold out through Redis; 5-10 were answered from memory.
                let issue = try metrics.expectTimer("coupongate_redis_call_duration_seconds", [("command", "issue")])
                #expect(issue.values.count == 4)
                #expect(issue.values.allSatisfy { $0 > 0 })
                #expect(try metrics.expectCounter("coupongate_sold_out_local_total").totalValue == 6)

                try await eventually("the relay writes the three coupons", timeout: .seconds(10)) {
                    try await stack.store.coupons(of: campaign).count == 3
                }
                let batches = try metrics.expectRecorder(RelayMetrics.batchSizeLabel)
                #expect(batches.values.reduce(0, +) == 3)
                #expect(try metrics.expectTimer("coupongate_relay_insert_duration_seconds").values.count == batches.values.count)

                _ = try await stack.admin.send(RedisCommand("XADD", ["{c:m}:outbox", "*", "campaign", "m", "user", "bad", "seq", "9", "at", "0"]))
                try await eventually("the bad entry is counted as a dead letter") {
                    (try? metrics.expectCounter("coupongate_relay_dead_letters_total").totalValue) == 1
                }
            }
        }

        @Test func redisErrorsAreCounted() async throws {
            let metrics = TestMetrics()
            try await RedisStack.with(metrics: metrics) { stack in
                let campaign = try await stack.campaign("down", limit: 3)
                stack.server.stop()
                await #expect(throws: CouponError.self) { try await stack.gates[0].apply(user: UserID(1), campaign: campaign) }
                #expect(try metrics.expectCounter("coupongate_redis_errors_total").totalValue >= 1)
            }
        }

        @Test func backlogCountsWhatIsNotAcknowledgedAndHowOldItIs() async throws {
            try await RedisStack.with { stack in
                let campaign = try await stack.campaign("b", limit: 10)
                #expect(try await OutboxBacklog.measure(campaign, redis: stack.admin) == .empty)
                for user in 1...3 { _ = try await stack.gates[0].apply(user: UserID(Int64(user)), campaign: campaign) }
                // No relay yet: all three wait.
                var backlog = try await OutboxBacklog.measure(campaign, redis: stack.admin)
                #expect(backlog.unacknowledged == 3)
                #expect(try #require(backlog.oldestAgeMilliseconds) >= 0)

                // A relay read two (pending) and has not seen the third (undelivered).
                _ = try await stack.admin.send(RedisCommand("XGROUP", ["CREATE", "{c:b}:outbox", "relay", "0"]))
                _ = try await stack.admin.send(
                    RedisCommand("XREADGROUP", ["GROUP", "relay", "r1", "COUNT", "2", "STREAMS", "{c:b}:outbox", ">"])
                )
                let first = try await stack.admin.send(RedisCommand("XRANGE", ["{c:b}:outbox", "-", "+", "COUNT", "2"]))
                let ids = (first.array ?? []).compactMap { $0.array?.first?.string }
                #expect(ids.count == 2)
                try await Task.sleep(for: .milliseconds(60))
                backlog = try await OutboxBacklog.measure(campaign, redis: stack.admin)
                #expect(backlog.unacknowledged == 3)
                #expect(try #require(backlog.oldestAgeMilliseconds) >= 60)

                // Acknowledging the two leaves the undelivered one.
                _ = try await stack.admin.send(RedisCommand("XACK", ["{c:b}:outbox", "relay"] + ids.map { .string($0) }))
                backlog = try await OutboxBacklog.measure(campaign, redis: stack.admin)
                #expect(backlog.unacknowledged == 1)

                _ = try await stack.admin.send(RedisCommand("XADD", ["{c:b}:dead", "*", "entry", "x", "reason", "test"]))
                #expect(try await OutboxBacklog.measure(campaign, redis: stack.admin).deadLetters == 1)

                var total = OutboxBacklog(unacknowledged: 2, oldestAgeMilliseconds: 10, deadLetters: 0)
                total.add(OutboxBacklog(unacknowledged: 1, oldestAgeMilliseconds: 500, deadLetters: 1))
                total.add(.empty)
                #expect(total == OutboxBacklog(unacknowledged: 3, oldestAgeMilliseconds: 500, deadLetters: 1))
            }
        }
    }
}
