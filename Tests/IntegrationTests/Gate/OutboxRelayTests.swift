import CouponCore
import CouponRedis
import CouponTestSupport
import RESP
import Testing

extension IntegrationTests {
    @Suite struct OutboxRelayTests {
        static var fastRelay: OutboxRelay.Configuration {
            var relay = OutboxRelay.Configuration()
            relay.idleDelay = .milliseconds(5)
            relay.campaignRefresh = .milliseconds(50)
            relay.claimAfter = .milliseconds(300)
            relay.trimInterval = .milliseconds(100)
            return relay
        }

        @Test func anUnreadableEntryGoesToTheDeadLetterStreamWithItsReason() async throws {
            try await RedisStack.with(relay: Self.fastRelay) { stack in
                let campaign = try await stack.campaign("dl", limit: 5)
                _ = try await stack.gates[0].apply(user: UserID(1), campaign: campaign)
                _ = try await stack.admin.send(
                    RedisCommand("XADD", ["{c:dl}:outbox", "*", "campaign", "dl", "user", "not-a-number", "seq", "2", "at", "0"])
                )
                // One bad user spoils its whole entry: none of its coupons is written.
                _ = try await stack.admin.send(
                    RedisCommand("XADD", ["{c:dl}:outbox", "*", "campaign", "dl", "epoch", "1", "at", "0", "first", "3", "users", "8,x9"])
                )
                // An entry in the one-coupon form earlier versions wrote is still relayed.
                let epoch = try #require(try await stack.admin.send(RedisCommand("HGET", ["{c:dl}:meta", "epoch"])).string)
                _ = try await stack.admin.send(
                    RedisCommand("XADD", ["{c:dl}:outbox", "*", "campaign", "dl", "user", "7", "seq", "9", "at", "0", "epoch", .string(epoch)])
                )
                _ = try await stack.gates[0].apply(user: UserID(3), campaign: campaign)
                try await eventually("the three good coupons are written", timeout: .seconds(10)) {
                    try await stack.store.coupons(of: campaign).count == 3
                }
                #expect(try await stack.store.coupons(of: campaign).map(\.userID.rawValue).sorted() == [1, 3, 7])
                try await eventually("the bad entries are dead-lettered") {
                    try await stack.admin.send(RedisCommand("XLEN", ["{c:dl}:dead"])).int == 2
                }
                let dead = try await stack.admin.send(RedisCommand("XRANGE", ["{c:dl}:dead", "-", "+"]))
                let text = "\(dead)"
                #expect(text.contains("user"))
                #expect(text.contains("not-a-number"))
                #expect(text.contains("x9"))
                try await eventually("nothing stays pending") {
                    try await stack.admin.send(RedisCommand("XPENDING", ["{c:dl}:outbox", "relay"])).array?.first?.int == 0
                }
            }
        }

        /// A reset deletes the outbox with its consumer group; a running relay must create the group again
        /// and relay the coupons of the new epoch, those applied before it noticed included.
        @Test func aRunningRelayKeepsRelayingAfterAReset() async throws {
            try await RedisStack.with(relay: Self.fastRelay) { stack in
                let campaign = try await stack.campaign("again", limit: 5)
                for user in 1...2 { _ = try await stack.gates[0].apply(user: UserID(Int64(user)), campaign: campaign) }
                try await eventually("the first epoch's coupons are written") { try await stack.store.coupons(of: campaign).count == 2 }
                _ = try await stack.gates[0].reset(campaign)
                for user in 11...13 { _ = try await stack.gates[0].apply(user: UserID(Int64(user)), campaign: campaign) }
                try await eventually("the new epoch's coupons are written", timeout: .seconds(10)) {
                    try await stack.store.coupons(of: campaign).map(\.userID.rawValue).sorted() == [11, 12, 13]
                }
                try await eventually("and acknowledged") {
                    try await stack.admin.send(RedisCommand("XPENDING", ["{c:again}:outbox", "relay"])).array?.first?.int == 0
                }
            }
        }

        @Test func entriesADeadRelayLeftPendingAreReclaimed() async throws {
            try await RedisStack.with { stack in
                let campaign = try await stack.campaign("claim", limit: 5)
                for user in 1...3 { _ = try await stack.gates[0].apply(user: UserID(Int64(user)), campaign: campaign) }
                // A relay that read the entries and died before writing them.
                _ = try await stack.admin.send(RedisCommand("XGROUP", ["CREATE", "{c:claim}:outbox", "relay", "0", "MKSTREAM"]))
                let read = try await stack.admin.send(
                    RedisCommand("XREADGROUP", ["GROUP", "relay", "dead-one", "COUNT", "10", "STREAMS", "{c:claim}:outbox", ">"])
                )
                #expect("\(read)".contains("claim"))
                #expect(try await stack.store.coupons(of: campaign).isEmpty)

                let relay = OutboxRelay(redis: stack.admin, store: stack.store, logger: RedisStack.logger, configuration: Self.fastRelay)
                try await withRunning([relay]) {
                    try await eventually("the reclaimed coupons are written") { try await stack.store.coupons(of: campaign).count == 3 }
                    try await eventually("and acknowledged") {
                        try await stack.admin.send(RedisCommand("XPENDING", ["{c:claim}:outbox", "relay"])).array?.first?.int == 0
                    }
                    try await eventually("then trimmed") { try await stack.admin.send(RedisCommand("XLEN", ["{c:claim}:outbox"])).int ?? 99 <= 1 }
                }
            }
        }

        @Test func trimmingNeverRemovesPendingEntries() async throws {
            try await RedisStack.with { stack in
                let campaign = try await stack.campaign("keep", limit: 10)
                for user in 1...4 { _ = try await stack.gates[0].apply(user: UserID(Int64(user)), campaign: campaign) }
                _ = try await stack.admin.send(RedisCommand("XGROUP", ["CREATE", "{c:keep}:outbox", "relay", "0", "MKSTREAM"]))
                // Another consumer holds all four, unacknowledged, and is not idle long enough to be reclaimed.
                _ = try await stack.admin.send(
                    RedisCommand("XREADGROUP", ["GROUP", "relay", "busy", "COUNT", "10", "STREAMS", "{c:keep}:outbox", ">"])
                )
                var configuration = Self.fastRelay
                configuration.claimAfter = .seconds(60)
                let relay = OutboxRelay(redis: stack.admin, store: stack.store, logger: RedisStack.logger, configuration: configuration)
                try await withRunning([relay]) {
                    try await Task.sleep(for: .milliseconds(500))
                }
                #expect(try await stack.admin.send(RedisCommand("XLEN", ["{c:keep}:outbox"])).int == 4)
                #expect(try await stack.store.coupons(of: campaign).isEmpty)
            }
        }
    }
}
