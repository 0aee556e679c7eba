import CouponCore
import CouponKafka
import Kafka
import Logging
import Synchronization

/// What the `coupon_create` topic holds for one campaign and epoch: read from the start by a consumer
/// group of its own (so the stack's consumer keeps its offsets), every event of the topic decoded.
struct CouponTopicCount: Sendable, Equatable {
    var events = 0
    var distinctUsers = 0

    /// Reads `topic` until it has seen at least `expected` events of `campaign` at `epoch` and the consumer
    /// has caught up with every partition it holds, or until `timeout`; returns what it counted by then.
    static func read(
        _ topic: String,
        brokers: String,
        campaign: CampaignID,
        epoch: Int64,
        expected: Int,
        timeout: Duration = .seconds(60),
        logger: Logger
    ) async throws -> CouponTopicCount {
        var configuration = KafkaConsumer.Configuration(
            client: KafkaClientConfiguration(brokers: try KafkaBrokerAddress.list(parsing: brokers)),
            groupID: "coupongate-loadtest-\(campaign.rawValue)-\(epoch)-\(UInt32.random(in: 0...UInt32.max))",
            topics: [topic]
        )
        configuration.offsetReset = .earliest
        configuration.fetchMaxWait = .milliseconds(100)
        let consumer = KafkaConsumer(configuration: configuration, logger: logger)
        let tally = Tally()
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                try await consumer.run { records in
                    // The stack's other records (other campaigns, older epochs, dead letters' sources) are skipped.
                    let matching = records.compactMap { try? CouponEvent(bytes: $0.value) }
                        .filter { $0.coupon.campaignID == campaign && $0.epoch == epoch }
                    tally.state.withLock { state in
                        state.events += matching.count
                        state.users.formUnion(matching.map(\.coupon.userID))
                    }
                }
            }
            defer { group.cancelAll() }
            let deadline = ContinuousClock.now + timeout
            while ContinuousClock.now < deadline {
                // A campaign's events share one partition (keyed by campaign): caught up there is caught up.
                let lags = consumer.lag
                if tally.state.withLock({ $0.events }) >= expected, !lags.isEmpty, lags.allSatisfy({ $0.lag == 0 }) { break }
                try await Task.sleep(for: .milliseconds(100))
            }
            return tally.state.withLock { CouponTopicCount(events: $0.events, distinctUsers: $0.users.count) }
        }
    }

    private final class Tally: Sendable {
        let state = Mutex<(events: Int, users: Set<UserID>)>((0, []))
    }
}
