import CouponCore
import CouponRedis
import CouponTestSupport
import Testing

extension IntegrationTests {
    /// The foundation's race, through two instances sharing one Redis, with the relay running, into
    /// each database of record.
    @Suite struct RedisRaceTests {
        @Test(arguments: RecordDatabase.allCases)
        func twentyThousandAppliesThroughTwoInstances(_ database: RecordDatabase) async throws {
            var relay = OutboxRelay.Configuration()
            relay.idleDelay = .milliseconds(5)
            relay.campaignRefresh = .milliseconds(100)
            try await RedisStack.with(instances: 2, relay: relay, database: database) { stack in
                let campaign = try await stack.campaign("race", limit: 100)
                let answers = try await withThrowingTaskGroup(of: (Int64, ApplyOutcome).self) { group in
                    for index in 0..<20_000 {
                        let user = Int64(index % 5_000 + 1)
                        let gate = stack.gates[index % 2]
                        group.addTask { (user, try await gate.apply(user: UserID(user), campaign: campaign)) }
                    }
                    return try await group.reduce(into: []) { $0.append($1) }
                }
                var won: [Int64: Coupon] = [:]
                for (user, outcome) in answers {
                    if case .issued(let coupon) = outcome {
                        #expect(won[user] == nil, "user \(user) won twice")
                        won[user] = coupon
                    }
                }
                #expect(won.count == 100)
                #expect(won.values.map(\.sequence).sorted() == Array(1...100))
                for (user, outcome) in answers {
                    switch outcome {
                    case .issued: break
                    case .alreadyIssued(let coupon): #expect(won[user] == coupon, "a winner's retry gets the coupon it won")
                    case .soldOut: #expect(won[user] == nil, "a winner never hears sold out")
                    default: Issue.record("unexpected \(outcome)")
                    }
                }
                try await eventually("the relay wrote the 100 winners", timeout: .seconds(10)) {
                    try await stack.store.coupons(of: campaign).count == 100
                }
                let rows = try await stack.store.coupons(of: campaign)
                #expect(Dictionary(uniqueKeysWithValues: rows.map { ($0.userID.rawValue, $0) }) == won)
            }
        }
    }
}
