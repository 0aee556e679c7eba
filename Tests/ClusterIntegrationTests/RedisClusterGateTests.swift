import CouponCore
import CouponRedis
import CouponStore
import CouponTestSupport
import Logging
import RESP
import ServiceLifecycle
import Testing

extension ClusterIntegrationTests {
    /// The gate and the relay on a real three-master Redis Cluster: campaigns spread over the shards by
    /// their hash tag, every one keeping the invariants through two instances.
    @Suite struct RedisClusterGateTests {
        static let logger: Logger = {
            var logger = Logger(label: "cluster-gate")
            logger.logLevel = .critical
            return logger
        }()

        @Test func thirtyCampaignsAtOnceThroughTwoInstancesOnAThreeMasterCluster() async throws {
            let cluster = try await RedisClusterProcess.start(masters: 3)
            defer { cluster.stop() }
            let campaigns = try (1...30).map { try CampaignID(validating: "drop-\($0)") }
            // The campaigns' keys land on every master's slot range (redis-cli splits 16384 slots in three).
            let shards = Set(campaigns.map { Int(HashSlot(key: "{c:\($0.rawValue)}").rawValue) * 3 / HashSlot.count })
            #expect(shards.count == 3, "the campaigns spread over all three masters")

            try await RecordDatabase.postgres.withStore { store in
                var configuration = cluster.configuration()
                configuration.node.commandTimeout = .seconds(5)
                let clients = (0..<2).map { _ in RedisClusterClient(configuration: configuration, logger: Self.logger) }
                let gates = clients.map { RedisGate(redis: $0, store: store, logger: Self.logger) }
                var relay = OutboxRelay.Configuration()
                relay.idleDelay = .milliseconds(5)
                relay.campaignRefresh = .milliseconds(100)
                let services: [any Service] =
                    clients + gates.map { SoldOutWatcher(gate: $0) } + [
                        OutboxRelay(redis: clients[0], store: store, logger: Self.logger, configuration: relay)
                    ]
                try await withRunning(services) {
                    try await eventually("both cluster clients connect", timeout: .seconds(10)) { clients.allSatisfy(\.isConnected) }
                    for campaign in campaigns {
                        _ = try await gates[0].create(try Campaign(id: campaign, name: campaign.rawValue, limit: 20, createdAt: .now))
                    }
                    // 60 users per campaign, each twice, on alternating instances, all campaigns at once.
                    let answers = try await withThrowingTaskGroup(of: (CampaignID, Int64, ApplyOutcome).self) { group in
                        for campaign in campaigns {
                            for index in 0..<120 {
                                let user = Int64(index % 60 + 1)
                                let gate = gates[index % 2]
                                group.addTask { (campaign, user, try await gate.apply(user: UserID(user), campaign: campaign)) }
                            }
                        }
                        return try await group.reduce(into: []) { $0.append($1) }
                    }
                    for campaign in campaigns {
                        var won: [Int64: Coupon] = [:]
                        for (id, user, outcome) in answers where id == campaign {
                            if case .issued(let coupon) = outcome {
                                #expect(won[user] == nil, "\(campaign): user \(user) won twice")
                                won[user] = coupon
                            }
                        }
                        #expect(won.count == 20, "\(campaign)")
                        #expect(won.values.map(\.sequence).sorted() == Array(1...20), "\(campaign)")
                        try await eventually("the relay wrote \(campaign)'s winners", timeout: .seconds(20)) {
                            try await store.coupons(of: campaign).count == 20
                        }
                        let rows = try await store.coupons(of: campaign)
                        #expect(Dictionary(uniqueKeysWithValues: rows.map { ($0.userID.rawValue, $0) }) == won, "\(campaign)")
                    }
                }
            }
        }
    }
}
