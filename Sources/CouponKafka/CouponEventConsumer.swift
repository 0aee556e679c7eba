import CoreMetrics
import CouponCore
import Kafka
import Logging
import Metrics
import NIOCore
import ServiceLifecycle
import Synchronization

/// `coupongate consume`: the seed's `CouponCreateConsumer`, made lossless. A member of a consumer
/// group on the coupon topic; each fetched batch becomes one database transaction of the existing
/// stores (`ON CONFLICT DO NOTHING`, an epoch older than the database's dropped, as the relay does),
/// and the group's offsets are committed only after that commit. A record that is not a coupon event
/// goes to the dead-letter topic with the reason in a header (acknowledged by the broker before the
/// offsets move), and consuming goes on.
public final class CouponEventConsumer: Service, Sendable {
    public struct Settings: Sendable {
        public var brokers: [KafkaBrokerAddress]
        public var topic = KafkaSinkSettings.defaultTopic
        public var group = "coupongate"
        /// Where records that are not coupon events go; default `<topic>.dlq`.
        public var deadLetterTopic: String?
        /// TLS and SASL to the brokers; plaintext without authentication by default.
        public var security = KafkaSecuritySettings()

        public init(brokers: [KafkaBrokerAddress]) {
            self.brokers = brokers
        }

        public var deadLetters: String { self.deadLetterTopic ?? "\(self.topic).dlq" }
    }

    let settings: Settings
    let store: any CouponStore
    let consumer: KafkaConsumer
    /// Sends dead letters; a service of its own, run beside this one (listed before it).
    public let deadLetterProducer: KafkaProducer
    let metrics: CouponConsumerMetrics
    let logger: Logger
    /// The campaigns the database has, reread when an event names one not in it.
    private let knownCampaigns = Mutex<Set<CampaignID>>([])

    public init(settings: Settings, store: any CouponStore, metrics: CouponConsumerMetrics = .init(), logger: Logger) {
        self.settings = settings
        self.store = store
        self.metrics = metrics
        self.logger = logger
        let client = settings.security.client(brokers: settings.brokers)
        self.consumer = KafkaConsumer(configuration: .init(client: client, groupID: settings.group, topics: [settings.topic]), logger: logger)
        var deadLetters = KafkaProducer.Configuration(client: client)
        // A vanished dead-letter topic is created again by `handle`, which wants to hear of it soon.
        deadLetters.missingTopicTimeout = .seconds(1)
        self.deadLetterProducer = KafkaProducer(configuration: deadLetters, logger: logger)
    }

    public func run() async throws {
        self.logger.info(
            "Consumer started",
            metadata: ["topic": "\(self.settings.topic)", "group": "\(self.settings.group)", "dead-letters": "\(self.settings.deadLetters)"]
        )
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                try await self.consumer.run { records in
                    try await self.handle(records)
                }
            }
            // The lag gauges follow the consumer until it stops.
            group.addTask {
                while !Task.isCancelled {
                    self.metrics.report(self.consumer.lag)
                    try? await Task.sleep(for: .seconds(1))
                }
            }
            try await group.next()
            group.cancelAll()
        }
        self.metrics.report([])
        self.logger.info("Consumer stopped", metadata: ["group": "\(self.settings.group)"])
    }

    /// One fetched batch: dead letters first, then the coupons in one transaction. Throwing makes the
    /// consumer deliver the same records again after a backoff, uncommitted.
    func handle(_ records: [KafkaConsumerRecord]) async throws {
        var events: [(KafkaConsumerRecord, CouponEvent)] = []
        var dead: [KafkaProducerRecord] = []
        func reject(_ record: KafkaConsumerRecord, _ reason: String) {
            self.logger.error(
                "Record is not a coupon event of this database; sent to the dead-letter topic",
                metadata: ["topic": "\(record.topic)", "partition": "\(record.partition)", "offset": "\(record.offset)", "reason": "\(reason)"]
            )
            dead.append(self.deadLetter(record, reason: reason))
        }
        for record in records {
            do {
                events.append((record, try CouponEvent(bytes: record.value)))
            } catch {
                reject(record, error.description)
            }
        }
        // An event of a campaign the database does not have would fail its whole batch forever.
        let named = Set(events.map(\.1.coupon.campaignID))
        if !named.isSubset(of: self.knownCampaigns.withLock({ $0 })) {
            let campaigns = Set(try await self.store.campaigns().map(\.id))
            self.knownCampaigns.withLock { $0 = campaigns }
        }
        let known = self.knownCampaigns.withLock { $0 }
        var writes: [StoreWrite] = []
        for (record, event) in events {
            if known.contains(event.coupon.campaignID) {
                writes.append(.relayCoupon(event.coupon, epoch: event.epoch))
            } else {
                reject(record, "campaign '\(event.coupon.campaignID)' does not exist in the database")
            }
        }
        if !dead.isEmpty {
            do {
                try await self.deadLetterProducer.send(dead)
            } catch let error as KafkaError where error.isUnknownTopic {
                // The topic made at start is gone (a broker without persistent storage restarted): made
                // again, and the batch is delivered again.
                self.logger.warning("The dead-letter topic is gone; creating it again", metadata: ["topic": "\(self.settings.deadLetters)"])
                _ = try await self.deadLetterProducer.createTopicIfMissing(self.settings.deadLetters, partitions: 1)
                throw error
            }
            self.metrics.deadLetters.increment(by: dead.count)
        }
        guard !writes.isEmpty else { return }
        let start = ContinuousClock.now
        do {
            try await self.store.write(writes)
        } catch {
            self.logger.error(
                "Database write failed; the batch will be delivered again",
                metadata: ["coupons": "\(writes.count)", "error": "\(error)"]
            )
            throw error
        }
        self.metrics.insert.record(duration: ContinuousClock.now - start)
        self.metrics.coupons.increment(by: writes.count)
    }

    /// The record as it was, to the dead-letter topic, with where it came from and why in headers.
    func deadLetter(_ record: KafkaConsumerRecord, reason: String) -> KafkaProducerRecord {
        KafkaProducerRecord(
            topic: self.settings.deadLetters,
            key: record.key.map { ByteBuffer(bytes: $0) },
            value: record.value.map { ByteBuffer(bytes: $0) },
            headers: record.headers + [
                KafkaRecordHeader(key: "coupongate.reason", value: ByteBuffer(string: reason)),
                KafkaRecordHeader(key: "coupongate.source", value: ByteBuffer(string: "\(record.topic)/\(record.partition)/\(record.offset)")),
            ],
            timestamp: max(record.timestamp, 0)
        )
    }

    /// Creates the dead-letter topic when it is missing (one partition is enough), retrying until the broker answers;
    /// a security failure (credentials refused, TLS failed) is thrown at once.
    public func prepare() async throws {
        let metadata: Logger.Metadata = [
            "brokers": "\(self.settings.brokers.map(\.description).joined(separator: ","))", "security": "\(self.settings.security)",
        ]
        _ = try await retryingUntilKafkaIsReady(logger: self.logger, metadata: metadata) {
            try await self.deadLetterProducer.createTopicIfMissing(self.settings.deadLetters, partitions: 1)
        }
    }
}

/// What a consumer records: coupons written, the database write of a batch, dead letters, and the lag
/// of each partition it holds.
public final class CouponConsumerMetrics: Sendable {
    let coupons: CoreMetrics.Counter
    let insert: CoreMetrics.Timer
    let deadLetters: CoreMetrics.Counter
    private let factory: any MetricsFactory
    /// One gauge per partition ever held; a partition given up reads 0, so a sum over consumers is the group's lag.
    private let lagGauges = Mutex<[String: CoreMetrics.Gauge]>([:])

    /// Records into `factory`; the default records nothing.
    public init(factory: any MetricsFactory = NOOPMetricsHandler.instance) {
        self.coupons = CoreMetrics.Counter(label: "coupongate_consumer_coupons_total", factory: factory)
        self.insert = CoreMetrics.Timer(label: "coupongate_consumer_insert_duration_seconds", factory: factory)
        self.deadLetters = CoreMetrics.Counter(label: "coupongate_consumer_dead_letters_total", factory: factory)
        self.factory = factory
    }

    /// Sets `coupongate_consumer_lag_records{topic,partition}` from `lags`; partitions not in it read 0.
    func report(_ lags: [KafkaPartitionLag]) {
        let factory = self.factory
        self.lagGauges.withLock { gauges in
            var held: Set<String> = []
            for lag in lags {
                let key = "\(lag.topic)/\(lag.partition)"
                held.insert(key)
                let gauge =
                    gauges[key]
                    ?? CoreMetrics.Gauge(
                        label: "coupongate_consumer_lag_records",
                        dimensions: [("topic", lag.topic), ("partition", "\(lag.partition)")],
                        factory: factory
                    )
                gauges[key] = gauge
                gauge.record(lag.lag)
            }
            for (key, gauge) in gauges where !held.contains(key) {
                gauge.record(0)
            }
        }
    }
}
