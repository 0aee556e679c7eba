import CouponCore
import CouponRedis
import CouponTestSupport
import Foundation
import RESP
import Testing

extension Array {
    fileprivate func asyncAllSatisfy(_ predicate: (Element) async throws -> Bool) async rethrows -> Bool {
        for element in self where try await !predicate(element) { return false }
        return true
    }
}

extension IntegrationTests {
    @Suite struct RedisGateTests {
        /// Two instances creating the same campaign at once (both create `default` when they
        /// start together): one creates it, the other hears "exists", never a 503.
        @Test func racingCreatesOfOneCampaignLeaveOneCreatorAndOneExists() async throws {
            try await RedisStack.with(instances: 2) { stack in
                for round in 0..<10 {
                    let campaign = try Campaign(id: CampaignID(validating: "race-\(round)"), name: "race", limit: 5, createdAt: .now)
                    let results = await withTaskGroup(of: String.self) { group in
                        for gate in stack.gates {
                            group.addTask {
                                do {
                                    _ = try await gate.create(campaign)
                                    return "created"
                                } catch let error as CouponError {
                                    return "\(error.code)"
                                } catch {
                                    return "\(error)"
                                }
                            }
                        }
                        return await group.reduce(into: []) { $0.append($1) }.sorted()
                    }
                    #expect(results == ["campaignExists", "created"], "round \(round)")
                    #expect(try await stack.gates[1].apply(user: UserID(1), campaign: campaign.id) != .soldOut)
                }
            }
        }

        /// Through two instances: the key's win is answered again on either, before and after the
        /// campaign sold out (the sold-out cache defers a keyed winner to Redis).
        @Test func anIdempotencyKeyGetsItsWinBackOnAnyInstance() async throws {
            try await RedisStack.with(instances: 2) { stack in
                let campaign = try await stack.campaign("idem-gate", limit: 2)
                let first = try await stack.gates[0].apply(user: UserID(1), campaign: campaign, client: nil, idempotencyKey: "a")
                guard case .issued(let coupon) = first else {
                    Issue.record("user 1 should win: \(first)")
                    return
                }
                #expect(try await stack.gates[1].apply(user: UserID(1), campaign: campaign, client: nil, idempotencyKey: "a") == .replayed(coupon))
                #expect(
                    try await stack.gates[1].apply(user: UserID(2), campaign: campaign, client: nil, idempotencyKey: "a") == .idempotencyKeyReused
                )
                guard case .issued = try await stack.gates[0].apply(user: UserID(3), campaign: campaign) else {
                    Issue.record("user 3 should win")
                    return
                }
                // Sold out: both instances learn it and answer from memory.
                for gate in stack.gates { #expect(try await gate.apply(user: UserID(4), campaign: campaign) == .soldOut) }
                try await eventually("both instances cache the sell-out") {
                    try await stack.gates.asyncAllSatisfy { try await $0.apply(user: UserID(5), campaign: campaign) == .soldOut }
                }
                #expect(try await stack.gates[1].apply(user: UserID(1), campaign: campaign, client: nil, idempotencyKey: "a") == .replayed(coupon))
                #expect(try await stack.gates[1].apply(user: UserID(1), campaign: campaign) == .alreadyIssued(coupon))
            }
        }

        /// `--redis-wait-replicas 1`: with no replica to confirm it, a win is recorded but answered 503
        /// (a failover could lose it); a keyed retry gets the win once a replica has it.
        @Test func aWinNoReplicaConfirmedIsNotAnswered200() async throws {
            try await RedisStack.with(waitReplicas: 1) { stack in
                let campaign = try await stack.campaign("waited", limit: 5)
                let clock = ContinuousClock()
                let started = clock.now
                let error = try await #require(throws: CouponError.self) {
                    try await stack.gates[0].apply(user: UserID(1), campaign: campaign, client: nil, idempotencyKey: "w")
                }
                #expect(error.code == .storeUnavailable)
                #expect(error.message.contains("0 of 1 Redis replicas"), "\(error.message)")
                #expect(clock.now - started < .seconds(2), "WAIT is bounded")
                let winners = try await stack.admin.send(RedisCommand("HLEN", [.string("{c:waited}:winners")])).int
                #expect(winners == 1, "the win is recorded, only not confirmed")

                // A replica attaches; the same request now gets its original win.
                let replica = try await RedisServerProcess.start()
                defer { replica.stop() }
                let replicaClient = RedisStack.client(replica)
                try await withRunning([replicaClient]) {
                    try await eventually("the replica connects") { replicaClient.isConnected }
                    _ = try await replicaClient.send(RedisCommand("REPLICAOF", ["127.0.0.1", .int(Int64(stack.server.port))]))
                    try await eventually("the replica is in sync", timeout: .seconds(10)) {
                        let info = try await stack.admin.send(RedisCommand("INFO", ["replication"])).string ?? ""
                        return info.contains("connected_slaves:1") && info.contains("state=online")
                    }
                    let again = try await stack.gates[0].apply(user: UserID(1), campaign: campaign, client: nil, idempotencyKey: "w")
                    guard case .replayed(let coupon) = again else {
                        Issue.record("the keyed retry should get the original win: \(again)")
                        return
                    }
                    #expect(coupon.sequence == 1)
                    guard case .issued(let next) = try await stack.gates[0].apply(user: UserID(2), campaign: campaign) else {
                        Issue.record("user 2 should win once a replica confirms")
                        return
                    }
                    #expect(next.sequence == 2)
                }
            }
        }

        @Test func firstDistinctUsersWinThenDuplicatesAndSoldOut() async throws {
            try await RedisStack.with { stack in
                let campaign = try await stack.campaign("rules", limit: 2)
                let gate = stack.gates[0]
                guard case .issued(let first) = try await gate.apply(user: UserID(10), campaign: campaign) else {
                    Issue.record("user 10 should win")
                    return
                }
                #expect(first.sequence == 1)
                #expect(try await gate.apply(user: UserID(10), campaign: campaign) == .alreadyIssued(first))
                guard case .issued(let second) = try await gate.apply(user: UserID(11), campaign: campaign) else {
                    Issue.record("user 11 should win")
                    return
                }
                #expect(second.sequence == 2)
                #expect(try await gate.apply(user: UserID(12), campaign: campaign) == .soldOut)
                // A loser is not recorded as a winner.
                let recorded = try await stack.admin.send(RedisCommand("HEXISTS", ["{c:rules}:winners", "12"]))
                #expect(recorded.int == 0)
                #expect(try await gate.status(of: campaign).issued == 2)
                // Exactly two outbox entries: the sold-out path wrote nothing.
                #expect(try await stack.admin.send(RedisCommand("XLEN", ["{c:rules}:outbox"])).int == 2)
            }
        }

        @Test func windowsAndUnknownCampaigns() async throws {
            try await RedisStack.with { stack in
                let now = Timestamp.now.millisecondsSince1970
                let later = try await stack.campaign("later", limit: 5, startsAt: Timestamp(millisecondsSince1970: now + 3_600_000))
                let over = try await stack.campaign(
                    "over",
                    limit: 5,
                    startsAt: Timestamp(millisecondsSince1970: now - 7_200_000),
                    endsAt: Timestamp(millisecondsSince1970: now - 3_600_000)
                )
                let gate = stack.gates[0]
                #expect(try await gate.apply(user: UserID(1), campaign: later) == .notOpenYet(Timestamp(millisecondsSince1970: now + 3_600_000)))
                #expect(try await gate.apply(user: UserID(1), campaign: over) == .closed(Timestamp(millisecondsSince1970: now - 3_600_000)))
                let error = try await #require(throws: CouponError.self) {
                    try await gate.apply(user: UserID(1), campaign: CampaignID(validating: "ghost"))
                }
                #expect(error.code == .unknownCampaign)
                let exists = try await #require(throws: CouponError.self) { try await stack.campaign("later", limit: 1) }
                #expect(exists.code == .campaignExists)
            }
        }

        /// After sell-out an instance answers from memory: Redis sees no more EVALSHA calls.
        @Test func soldOutIsAnsweredWithoutRedis() async throws {
            try await RedisStack.with { stack in
                let campaign = try await stack.campaign("hot", limit: 10)
                let gate = stack.gates[0]
                var coupons: [Int64: Coupon] = [:]
                for user in 1...10 {
                    if case .issued(let coupon) = try await gate.apply(user: UserID(Int64(user)), campaign: campaign) {
                        coupons[Int64(user)] = coupon
                    }
                }
                #expect(coupons.count == 10)
                // The first sold-out answer loads the winners.
                #expect(try await gate.apply(user: UserID(11), campaign: campaign) == .soldOut)
                let before = try await stack.calls(of: "evalsha")
                for user in 12...5_011 {
                    #expect(try await gate.apply(user: UserID(Int64(user)), campaign: campaign) == .soldOut)
                }
                for (user, coupon) in coupons {
                    #expect(try await gate.apply(user: UserID(user), campaign: campaign) == .alreadyIssued(coupon))
                }
                let after = try await stack.calls(of: "evalsha")
                #expect(after == before, "5,010 applies after sell-out made \(after - before) EVALSHA calls")
                // What the sold-out fast path asks: known for a loser, not for a winner (who gets 409)
                // nor on another instance that has not learnt it yet.
                #expect(try gate.isKnownSoldOut(user: UserID(99_999), campaign: campaign))
                #expect(try !gate.isKnownSoldOut(user: UserID(1), campaign: campaign))
                #expect(try !stack.gates[0].isKnownSoldOut(user: UserID(99_999), campaign: CampaignID(validating: "cold")))
            }
        }

        /// A reset through one instance is seen by another that answers from memory, within a second.
        @Test func resetIsSeenByEveryInstanceWithinASecond() async throws {
            try await RedisStack.with(instances: 2) { stack in
                let campaign = try await stack.campaign("again", limit: 1)
                let (a, b) = (stack.gates[0], stack.gates[1])
                #expect(try await a.apply(user: UserID(1), campaign: campaign) != .soldOut)
                #expect(try await b.apply(user: UserID(2), campaign: campaign) == .soldOut)
                #expect(try await b.apply(user: UserID(2), campaign: campaign) == .soldOut)  // from memory now
                _ = try await a.reset(campaign)
                let start = ContinuousClock.now
                try await eventually("instance b admits again after the reset", timeout: .seconds(1)) {
                    if case .issued = try await b.apply(user: UserID(3), campaign: campaign) { return true }
                    return false
                }
                #expect(ContinuousClock.now - start < .seconds(1))
            }
        }

        @Test func redisDownAnswersUnavailableFastThenAOFKeepsTheWinners() async throws {
            try await RedisStack.with(appendOnly: true) { stack in
                let campaign = try await stack.campaign("durable", limit: 5)
                let gate = stack.gates[0]
                var winners: [ApplyOutcome] = []
                for user in 1...3 { winners.append(try await gate.apply(user: UserID(Int64(user)), campaign: campaign)) }
                await stack.server.kill()
                let start = ContinuousClock.now
                let error = try await #require(throws: CouponError.self) { try await gate.apply(user: UserID(9), campaign: campaign) }
                #expect(error.code == .storeUnavailable)
                #expect(ContinuousClock.now - start < .seconds(2), "an apply while Redis is down must not hang")

                try await stack.server.restart()
                try await eventually("the gate's client reconnects") { stack.clients[0].isConnected }
                for (index, outcome) in winners.enumerated() {
                    guard case .issued(let coupon) = outcome else {
                        Issue.record("expected a win")
                        continue
                    }
                    #expect(try await gate.apply(user: UserID(Int64(index + 1)), campaign: campaign) == .alreadyIssued(coupon))
                }
                var issued: [Coupon] = []
                for user in 4...10 {
                    if case .issued(let coupon) = try await gate.apply(user: UserID(Int64(user)), campaign: campaign) { issued.append(coupon) }
                }
                #expect(issued.map(\.sequence) == [4, 5], "the counter survived the restart: no over-issue")
            }
        }

        @Test(arguments: RecordDatabase.allCases)
        func keysLostByRedisAreRebuiltFromTheDatabase(_ database: RecordDatabase) async throws {
            var relay = OutboxRelay.Configuration()
            relay.idleDelay = .milliseconds(5)
            try await RedisStack.with(relay: relay, database: database) { stack in
                let campaign = try await stack.campaign("rebuilt", limit: 5)
                let gate = stack.gates[0]
                var coupons: [Coupon] = []
                for user in 1...3 {
                    if case .issued(let coupon) = try await gate.apply(user: UserID(Int64(user)), campaign: campaign) { coupons.append(coupon) }
                }
                try await eventually("the relay wrote the 3 coupons") { try await stack.store.coupons(of: campaign).count == 3 }
                // A Redis restart without persistence.
                _ = try await stack.admin.send(RedisCommand("FLUSHALL"))
                #expect(try await gate.apply(user: UserID(2), campaign: campaign) == .alreadyIssued(coupons[1]))
                guard case .issued(let next) = try await gate.apply(user: UserID(4), campaign: campaign) else {
                    Issue.record("user 4 should win after the rebuild")
                    return
                }
                #expect(next.sequence == 4)
            }
        }
    }
}
