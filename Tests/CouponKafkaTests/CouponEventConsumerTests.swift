import CouponCore
import CouponStore
import CouponTestSupport
import Foundation
import Kafka
import Logging
import MetricsTestKit
import NIOCore
import Testing

@testable import CouponKafka

/// The consumer's handling of a fetched batch, on an SQLite store and without a broker: what reaches the
/// database, and when a batch must be delivered again instead of committed.
@Suite struct CouponEventConsumerTests {
    private static let logger = Logger(label: "CouponEventConsumerTests")

    private func withConsumer(
        metrics: CouponConsumerMetrics = .init(),
        _ body: (CouponEventConsumer, SQLiteCouponStore) async throws -> Void
    )
        async throws
    {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("cg-consumer-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try await SQLiteCouponStore.open(directory: directory, logger: Self.logger)
        // Port 1 refuses connections: no broker is needed unless a dead letter has to be sent.
        let settings = CouponEventConsumer.Settings(brokers: [KafkaBrokerAddress(host: "127.0.0.1", port: 1)])
        let consumer = CouponEventConsumer(settings: settings, store: store, metrics: metrics, logger: Self.logger)
        do {
            try await store.write([.createCampaign(try Fixture.campaign("drop", limit: 10))])
            try await body(consumer, store)
        } catch {
            await store.close()
            throw error
        }
        await store.close()
    }

    private func record(_ value: String, offset: Int64, key: String = "drop") -> KafkaConsumerRecord {
        KafkaConsumerRecord(
            topic: "coupon_create",
            partition: 1,
            offset: offset,
            key: Array(key.utf8),
            value: Array(value.utf8),
            headers: [],
            timestamp: 1_764_703_800_123
        )
    }

    private func event(user: Int64, sequence: Int64, campaign: String = "drop") throws -> KafkaConsumerRecord {
        let coupon = try Fixture.coupon(campaign, user: user, sequence: sequence)
        return self.record(String(buffer: CouponEvent(coupon: coupon, epoch: 0).value), offset: sequence)
    }

    @Test func eachEventBecomesOneRowAndARedeliveredBatchAddsNone() async throws {
        let metrics = TestMetrics()
        try await self.withConsumer(metrics: CouponConsumerMetrics(factory: metrics)) { consumer, store in
            let batch = [try self.event(user: 7, sequence: 1), try self.event(user: 8, sequence: 2)]
            try await consumer.handle(batch)
            try await consumer.handle(batch)  // delivered again after a lost commit
            let rows = try await store.coupons(of: CampaignID(validating: "drop"))
            #expect(rows.map(\.userID.rawValue).sorted() == [7, 8])
            #expect(rows.map(\.sequence).sorted() == [1, 2])
            #expect(try metrics.expectTimer("coupongate_consumer_insert_duration_seconds").values.count == 2)
        }
    }

    @Test func aBatchWhoseDeadLettersCannotBeSentIsNotWritten() async throws {
        try await self.withConsumer { consumer, store in
            // The poison record must reach the dead-letter topic before the batch counts as handled; the
            // producer cannot send (not running), so the batch fails and nothing of it is written.
            let batch = [try self.event(user: 7, sequence: 1), self.record("not a coupon event", offset: 2)]
            await #expect(throws: KafkaError.self) { try await consumer.handle(batch) }
            #expect(try await store.coupons(of: CampaignID(validating: "drop")).isEmpty)
        }
    }

    @Test func anEventOfAnUnknownCampaignIsADeadLetterToo() async throws {
        try await self.withConsumer { consumer, store in
            let batch = [try self.event(user: 7, sequence: 1, campaign: "elsewhere")]
            await #expect(throws: KafkaError.self) { try await consumer.handle(batch) }
            #expect(try await store.coupons(of: CampaignID(validating: "drop")).isEmpty)
        }
    }

    @Test func aDeadLetterKeepsTheRecordAndSaysWhyAndWhence() async throws {
        try await self.withConsumer { consumer, _ in
            let letter = consumer.deadLetter(self.record("{}", offset: 41, key: "k"), reason: "missing field userId")
            #expect(letter.topic == "coupon_create.dlq")
            #expect(letter.key.map { String(buffer: $0) } == "k")
            #expect(letter.value.map { String(buffer: $0) } == "{}")
            let headers = Dictionary(uniqueKeysWithValues: letter.headers.map { ($0.key, $0.value.map { String(buffer: $0) }) })
            #expect(headers["coupongate.reason"] == "missing field userId")
            #expect(headers["coupongate.source"] == "coupon_create/1/41")
        }
    }

    @Test func lagGaugesFollowThePartitionsHeldAndAGivenUpOneReadsZero() throws {
        let metrics = TestMetrics()
        let consumerMetrics = CouponConsumerMetrics(factory: metrics)
        consumerMetrics.report([
            KafkaPartitionLag(topic: "coupon_create", partition: 0, committedOffset: 10, highWatermark: 25),
            KafkaPartitionLag(topic: "coupon_create", partition: 2, committedOffset: 4, highWatermark: 4),
        ])
        let zero = try metrics.expectGauge("coupongate_consumer_lag_records", [("topic", "coupon_create"), ("partition", "0")])
        let two = try metrics.expectGauge("coupongate_consumer_lag_records", [("topic", "coupon_create"), ("partition", "2")])
        #expect(zero.lastValue == 15)
        #expect(two.lastValue == 0)
        consumerMetrics.report([KafkaPartitionLag(topic: "coupon_create", partition: 2, committedOffset: 4, highWatermark: 9)])
        #expect(zero.lastValue == 0)
        #expect(two.lastValue == 5)
    }
}
