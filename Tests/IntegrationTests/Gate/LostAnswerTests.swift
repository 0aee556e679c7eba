import CouponCore
import CouponTestSupport
import RESP
import Synchronization
import Testing

@testable import CouponRedis

extension IntegrationTests {
    /// A gate call whose answer is lost after Redis ran it (a timeout, a dropped connection) is
    /// repeated once, and the repeat never issues a second coupon.
    @Suite struct LostAnswerTests {
        /// Sends every command to Redis, but throws away the answer of the first `EVALSHA`/`EVAL`
        /// after Redis ran it, as a timeout would.
        final class LosingSender: RedisCommandSender {
            let redis: any RedisCommandSender
            let error: RedisClientError
            private let lost = Mutex(false)

            init(_ redis: any RedisCommandSender, losing error: RedisClientError) {
                self.redis = redis
                self.error = error
            }

            var losses: Int { self.lost.withLock { $0 ? 1 : 0 } }

            func send(_ command: RedisCommand) async throws -> RESPValue {
                let reply = try await self.redis.send(command)
                let lose =
                    command.name.hasPrefix("EVAL")
                    && self.lost.withLock { lost in
                        defer { lost = true }
                        return !lost
                    }
                if lose { throw self.error }
                return reply
            }

            func pipeline(_ commands: [RedisCommand]) async throws -> [RESPValue] {
                try await self.redis.pipeline(commands)
            }

            var isConnected: Bool { self.redis.isConnected }
        }

        @Test(arguments: [RedisClientError.Code.timeout, .connectionClosed])
        func aLostAnswerIsRepeatedAndTheWinIsAnsweredOnce(_ code: RedisClientError.Code) async throws {
            try await RedisStack.with { stack in
                let campaign = try await stack.campaign("lost", limit: 5)
                let sender = LosingSender(stack.admin, losing: RedisClientError(code, message: "the answer was lost"))
                let gate = RedisGate(redis: sender, store: stack.store, logger: RedisStack.logger)
                let outcome = try await gate.apply(user: UserID(7), campaign: campaign)
                #expect(sender.losses == 1, "the first call's answer was thrown away")
                guard case .issued(let coupon) = outcome else {
                    Issue.record("the repeat should answer the first call's win: \(outcome)")
                    return
                }
                #expect(coupon.sequence == 1)
                let keys = RedisKeys(campaign)
                #expect(try await stack.admin.send(RedisCommand("GET", [.string(keys.issued)])).int == 1, "one coupon issued, not two")
                #expect(try await stack.admin.send(RedisCommand("XLEN", [.string(keys.outbox)])).int == 1)
                // The next user gets the next sequence.
                guard case .issued(let next) = try await gate.apply(user: UserID(8), campaign: campaign) else {
                    Issue.record("user 8 should win")
                    return
                }
                #expect(next.sequence == 2)
            }
        }

        @Test func aLostAnswerOfANonWinnerStaysItsAnswer() async throws {
            try await RedisStack.with { stack in
                let campaign = try await stack.campaign("lost-sold", limit: 1)
                _ = try await stack.gates[0].apply(user: UserID(1), campaign: campaign)
                let sender = LosingSender(stack.admin, losing: RedisClientError(.timeout, message: "the answer was lost"))
                let gate = RedisGate(redis: sender, store: stack.store, logger: RedisStack.logger)
                #expect(try await gate.apply(user: UserID(2), campaign: campaign) == .soldOut)
            }
        }
    }
}
