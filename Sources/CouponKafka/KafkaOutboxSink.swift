import CouponCore
import CouponRedis
import Kafka
import Logging
import ServiceLifecycle

/// The relay's Kafka sink: each coupon one record of the topic (``CouponEvent``), produced
/// idempotently with acks=all; `deliver` returns once the broker acknowledged every record, and only
/// then does the relay acknowledge the outbox entries.
public struct KafkaOutboxSink: OutboxSink {
    public let producer: KafkaProducer
    public let settings: KafkaSinkSettings
    let logger: Logger

    public init(settings: KafkaSinkSettings, logger: Logger) {
        var configuration = KafkaProducer.Configuration(client: settings.security.client(brokers: settings.brokers))
        configuration.deliveryTimeout = settings.deliveryTimeout
        // The sink creates a vanished topic itself (`deliver`), so it wants to hear of one soon.
        if settings.createTopic { configuration.missingTopicTimeout = .seconds(1) }
        self.producer = KafkaProducer(configuration: configuration, logger: logger)
        self.settings = settings
        self.logger = logger
    }

    public var name: String { "Kafka topic \(self.settings.topic)" }

    public func deliver(_ coupons: [RelayedCoupon]) async throws {
        do {
            try await self.send(coupons)
        } catch let error as KafkaError where error.isUnknownTopic && self.settings.createTopic {
            // The topic vanished (a broker without persistent storage restarted): create it again;
            // the relay retries the batch.
            self.logger.warning("The Kafka topic is gone; creating it again", metadata: ["topic": "\(self.settings.topic)"])
            _ = try await self.producer.createTopicIfMissing(self.settings.topic, partitions: self.settings.partitions)
            throw error
        }
    }

    private func send(_ coupons: [RelayedCoupon]) async throws {
        try await self.producer.send(
            coupons.map { relayed in
                let event = CouponEvent(coupon: relayed.coupon, epoch: relayed.epoch)
                return KafkaProducerRecord(
                    topic: self.settings.topic,
                    key: event.key,
                    value: event.value,
                    timestamp: relayed.coupon.issuedAt.millisecondsSince1970
                )
            }
        )
    }

    /// Waits until the broker answers and the topic exists, creating it when allowed
    /// (`settings.createTopic`); retried with backoff, logged once per kind of failure, until shutdown.
    /// - Throws: a security failure (credentials refused, TLS failed) at once: retrying cannot mend it.
    public func prepare() async throws {
        let metadata: Logger.Metadata = [
            "brokers": "\(self.settings.brokers.map(\.description).joined(separator: ","))", "security": "\(self.settings.security)",
        ]
        try await retryingUntilKafkaIsReady(logger: self.logger, metadata: metadata) {
            if self.settings.createTopic {
                if try await self.producer.createTopicIfMissing(self.settings.topic, partitions: self.settings.partitions) {
                    self.logger.notice(
                        "Created the Kafka topic",
                        metadata: ["topic": "\(self.settings.topic)", "partitions": "\(self.settings.partitions)"]
                    )
                }
            }
            let partitions = try await self.producer.partitionCount(of: self.settings.topic)
            self.logger.info("Kafka topic ready", metadata: ["topic": "\(self.settings.topic)", "partitions": "\(partitions)"])
        }
    }
}

/// Where and how the relay writes to Kafka: `--kafka`, `--kafka-topic`, `--kafka-create-topic`, `--kafka-partitions`
/// and the security settings.
public struct KafkaSinkSettings: Sendable, Hashable {
    public static let defaultTopic = "coupon_create"

    public var brokers: [KafkaBrokerAddress]
    public var topic: String = Self.defaultTopic
    /// Create the topic at start when it is missing.
    public var createTopic = true
    /// The partitions of a topic this relay creates.
    public var partitions: Int32 = 3
    /// How long a batch may take to be acknowledged, retries included, before the relay retries it.
    public var deliveryTimeout: Duration = .seconds(20)
    /// TLS and SASL to the brokers; plaintext without authentication by default.
    public var security = KafkaSecuritySettings()

    public init(brokers: [KafkaBrokerAddress]) {
        self.brokers = brokers
    }

    /// Brokers from `HOST:PORT[,HOST:PORT…]`.
    /// - Throws: the reason, naming the address that is wrong.
    public init(brokerList: String) throws(KafkaSettingError) {
        do {
            self.init(brokers: try KafkaBrokerAddress.list(parsing: brokerList))
        } catch {
            throw KafkaSettingError(message: error.message)
        }
    }
}

/// A Kafka setting that cannot be used; `message` says why.
public struct KafkaSettingError: Error, Sendable {
    public let message: String
}

extension KafkaSinkSettings {
    /// Kafka's topic name rules: 1–249 characters of letters, digits, `.`, `_` and `-`, not `.` or `..`.
    public static func validateTopic<Failure: Error>(_ name: String, _ failure: (String) -> Failure) throws(Failure) {
        let allowed = name.utf8.allSatisfy { byte in
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5a) || (byte >= 0x61 && byte <= 0x7a) || byte == 0x2e
                || byte == 0x5f || byte == 0x2d
        }
        guard !name.isEmpty, name.utf8.count <= 249, allowed, name != ".", name != ".." else {
            throw failure("expected a Kafka topic name: 1 to 249 letters, digits, '.', '_' or '-'")
        }
    }
}
