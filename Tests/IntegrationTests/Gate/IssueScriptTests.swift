import CouponCore
import CouponTestSupport
import RESP
import Testing

@testable import CouponRedis

extension IntegrationTests {
    /// The gate script's batch semantics, run directly against a real redis-server, and the
    /// parsing of its replies.
    @Suite struct IssueScriptTests {
        private func run(_ stack: RedisStack, _ campaign: CampaignID, _ users: [Int64], keys: [String]? = nil) async throws -> [IssueAnswer]? {
            var arguments: [RESPArgument] = [.string(campaign.rawValue), "0", "0"]
            for (index, user) in users.enumerated() {
                arguments += [.string(String(user)), "-", .string(keys?[index] ?? "-")]
            }
            let reply = try await RedisGate.issue.run(on: stack.admin, keys: RedisKeys(campaign).all, arguments: arguments)
            return try IssueAnswer.parse(reply, count: users.count)
        }

        @Test func aBatchIsDecidedUserByUserInOrder() async throws {
            try await RedisStack.with { stack in
                let campaign = try await stack.campaign("batch", limit: 3)
                guard case .issued(let first) = try await stack.gates[0].apply(user: UserID(1), campaign: campaign) else {
                    Issue.record("user 1 should win")
                    return
                }
                let answers = try #require(try await self.run(stack, campaign, [1, 2, 2, 3, 4, 5]))
                guard answers.count == 6, case .issued(2, let at) = answers[1] else {
                    Issue.record("user 2 should win sequence 2: \(answers)")
                    return
                }
                #expect(answers[0] == .duplicate(sequence: 1, at: first.issuedAt))
                #expect(answers[2] == .duplicate(sequence: 2, at: at), "the same user twice in one batch wins once")
                guard case .issued(3, _) = answers[3] else {
                    Issue.record("user 3 should win sequence 3: \(answers)")
                    return
                }
                #expect(answers[4] == .soldOut(issued: 3, epoch: 1))
                #expect(answers[5] == .soldOut(issued: 3, epoch: 1))
                let keys = RedisKeys(campaign)
                let outbox = OutboxEntry.entries(in: try await stack.admin.send(RedisCommand("XRANGE", [.string(keys.outbox), "-", "+"])))
                #expect(outbox.count == 2, "one outbox entry per call that issued")
                let relayed = try outbox.flatMap { try $0.coupons(expecting: campaign).coupons }
                #expect(relayed.map(\.userID.rawValue) == [1, 2, 3])
                #expect(relayed.map(\.sequence) == [1, 2, 3])
                #expect(relayed.count == 3 && relayed[1].issuedAt == at && relayed[2].issuedAt == at)
                #expect(try await stack.admin.send(RedisCommand("HLEN", [.string(keys.winners)])).int == 3)
                #expect(try await stack.admin.send(RedisCommand("GET", [.string(keys.issued)])).int == 3)
            }
        }

        /// The winners hash is written in slices (Lua's stack is bounded); a call larger than any
        /// batch the gate sends still records every winner, and its coupons as one entry.
        @Test func aCallOfManyWinnersRecordsThemAll() async throws {
            try await RedisStack.with { stack in
                let campaign = try await stack.campaign("many", limit: 5_000)
                let users = Array(Int64(1)...2_500)
                let answers = try #require(try await self.run(stack, campaign, users))
                #expect(answers.compactMap { if case .issued(let sequence, _) = $0 { sequence } else { nil } } == users)
                let keys = RedisKeys(campaign)
                #expect(try await stack.admin.send(RedisCommand("HLEN", [.string(keys.winners)])).int == 2_500)
                #expect(try await stack.admin.send(RedisCommand("GET", [.string(keys.issued)])).int == 2_500)
                #expect(try await stack.admin.send(RedisCommand("HGET", [.string(keys.winners), "2500"])).string?.hasPrefix("2500:") == true)
                #expect(try await self.outboxUsers(stack, campaign) == users)
            }
        }

        /// A key is recorded with the win it got: the same key answers that win again for its user
        /// (nothing written), and KEYUSED for anyone else; keys of requests that did not win are not kept.
        @Test func anIdempotencyKeyAnswersItsWinAgain() async throws {
            try await RedisStack.with { stack in
                let campaign = try await stack.campaign("idem", limit: 2)
                let keys = RedisKeys(campaign)
                let first = try #require(try await self.run(stack, campaign, [1, 2], keys: ["k:a", "k:b"]))
                guard case .issued(1, let at) = first[0], case .issued(2, _) = first[1] else {
                    Issue.record("users 1 and 2 should win: \(first)")
                    return
                }
                // The same batch again, as a server repeats an ambiguous call, and a third user reusing a key.
                let again = try #require(try await self.run(stack, campaign, [1, 3, 4, 1], keys: ["k:a", "k:b", "k:c", "k:z"]))
                #expect(again[0] == .again(sequence: 1, at: at))
                #expect(again[1] == .keyUsed)
                #expect(again[2] == .soldOut(issued: 2, epoch: 1))
                #expect(again[3] == .duplicate(sequence: 1, at: at), "another key of a winner is an ordinary duplicate")
                #expect(try await self.outboxUsers(stack, campaign) == [1, 2], "nothing written again")
                #expect(try await stack.admin.send(RedisCommand("HLEN", [.string(keys.idempotency)])).int == 2, "only winning keys are kept")
                // A reset forgets the keys with the winners.
                _ = try await stack.gates[0].reset(campaign)
                #expect(
                    try await self.run(stack, campaign, [3], keys: ["k:b"]) == [
                        .issued(sequence: 1, at: try #require(self.issuedAt(stack, campaign, user: 3)))
                    ]
                )
            }
        }

        /// The users of every coupon in the campaign's outbox, in order.
        private func outboxUsers(_ stack: RedisStack, _ campaign: CampaignID) async throws -> [Int64] {
            let reply = try await stack.admin.send(RedisCommand("XRANGE", [.string(RedisKeys(campaign).outbox), "-", "+"]))
            return try OutboxEntry.entries(in: reply).flatMap { try $0.coupons(expecting: campaign).coupons.map(\.userID.rawValue) }
        }

        private func issuedAt(_ stack: RedisStack, _ campaign: CampaignID, user: Int64) async throws -> Timestamp? {
            let winner = try await stack.admin.send(RedisCommand("HGET", [.string(RedisKeys(campaign).winners), .string(String(user))])).string
            return winner?.split(separator: ":").last.flatMap { Int64($0) }.map(Timestamp.init(millisecondsSince1970:))
        }

        @Test func outsideTheWindowOnlyEarlierWinnersGetTheirCoupon() async throws {
            try await RedisStack.with { stack in
                let now = Timestamp.now.millisecondsSince1970
                let later = try await stack.campaign("later", limit: 5, startsAt: Timestamp(millisecondsSince1970: now + 3_600_000))
                #expect(
                    try await self.run(stack, later, [1, 2]) == [
                        .notOpen(startsAt: Timestamp(millisecondsSince1970: now + 3_600_000)),
                        .notOpen(startsAt: Timestamp(millisecondsSince1970: now + 3_600_000)),
                    ]
                )
                let ended = Timestamp(millisecondsSince1970: now - 1)
                let over = try await stack.campaign("over", limit: 5, endsAt: ended)
                #expect(try await self.run(stack, over, [1]) == [.closed(endsAt: ended)])
                #expect(try await stack.admin.send(RedisCommand("XLEN", [.string(RedisKeys(over).outbox)])).int == 0, "nothing written")
            }
        }

        @Test func aCampaignRedisDoesNotHaveIsNoCampaign() async throws {
            try await RedisStack.with { stack in
                let answers = try await self.run(stack, CampaignID(validating: "ghost"), [1])
                #expect(answers == nil)
            }
        }

        /// Rate limits live in Redis, so every instance shares them: a user over the rate on one
        /// instance is over it on the other, and so is a client address across users.
        @Test func rateLimitsAreSharedByInstancesAndCheckedFirst() async throws {
            try await RedisStack.with(instances: 2) { stack in
                let campaign = try await stack.campaign("limited", limit: 100)
                let gates = stack.clients.map {
                    RedisGate(redis: $0, store: stack.store, logger: RedisStack.logger, userRate: 2, clientRate: 3)
                }
                guard case .issued = try await gates[0].apply(user: UserID(5), campaign: campaign, client: "10.0.0.1", idempotencyKey: nil) else {
                    Issue.record("the first apply wins")
                    return
                }
                guard case .alreadyIssued = try await gates[1].apply(user: UserID(5), campaign: campaign, client: "10.0.0.2", idempotencyKey: nil)
                else {
                    Issue.record("the second is within the user's rate of 2: 409")
                    return
                }
                let third = try await gates[0].apply(user: UserID(5), campaign: campaign, client: "10.0.0.3", idempotencyKey: nil)
                #expect(third == .rateLimited(retryAfterSeconds: 1), "user 5's third apply within a second, on either instance")
                // Client 10.0.0.9: three applies (any users) within its rate of 3, then limited.
                for user in 20..<23 {
                    guard
                        case .issued = try await gates[user % 2].apply(
                            user: UserID(Int64(user)),
                            campaign: campaign,
                            client: "10.0.0.9",
                            idempotencyKey: nil
                        )
                    else {
                        Issue.record("user \(user) wins within the client's rate")
                        return
                    }
                }
                let fourth = try await gates[1].apply(user: UserID(30), campaign: campaign, client: "10.0.0.9", idempotencyKey: nil)
                #expect(fourth == .rateLimited(retryAfterSeconds: 1))
                #expect(try await stack.gates[0].status(of: campaign).issued == 4, "a limited apply issues nothing")
                // A second later the buckets have refilled.
                try await Task.sleep(for: .milliseconds(1_100))
                guard case .issued = try await gates[1].apply(user: UserID(30), campaign: campaign, client: "10.0.0.9", idempotencyKey: nil) else {
                    Issue.record("after a second the client may apply again")
                    return
                }
            }
        }

        @Test func repliesOfTheWrongShapeAreRefused() throws {
            let good: RESPValue = .array(["BATCH", "4", "OK", "7", "1700000000000"].map { .simpleString($0) })
            #expect(try IssueAnswer.parse(good, count: 1) == [.issued(sequence: 7, at: Timestamp(millisecondsSince1970: 1_700_000_000_000))])
            let wrong: [(RESPValue, Int)] = [
                (good, 2),
                (.array(["BATCH", "4", "WHAT", "7", ""].map { .simpleString($0) }), 1),
                (.array(["BATCH", "x", "SOLDOUT", "7", ""].map { .simpleString($0) }), 1),
                (.array(["BATCH", "4", "OK", "7", "soon"].map { .simpleString($0) }), 1),
                (.array(["BATCH", "4", "LIMITED", "later", ""].map { .simpleString($0) }), 1),
                (.integer(1), 1),
            ]
            for (reply, count) in wrong {
                #expect(throws: RedisClientError.self, "\(reply) for \(count) users") {
                    try IssueAnswer.parse(reply, count: count)
                }
            }
        }
    }
}
