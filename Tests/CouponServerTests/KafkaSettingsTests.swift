import CouponKafka
import CouponServer
import Kafka
import Testing

@Suite struct KafkaSettingsTests {
    typealias Flags = ServerConfiguration.Flags
    let distributed = ["COUPONGATE_REDIS_URL": "redis://127.0.0.1:6379", "COUPONGATE_POSTGRES_URL": "postgres://u@127.0.0.1/db"]

    @Test func serveWithRelayTakesKafkaFromFlagsOrEnvironment() throws {
        let flags = Flags(withRelay: true, kafka: .init(brokers: "a:9092,b:9093", partitions: "6"))
        let kafka = try #require(try ServerConfiguration(flags: flags, environment: self.distributed).distributed?.kafka)
        #expect(kafka.brokers.map(\.description) == ["a:9092", "b:9093"])
        #expect(kafka.topic == "coupon_create")
        #expect(kafka.createTopic)
        #expect(kafka.partitions == 6)

        var environment = self.distributed
        environment["COUPONGATE_KAFKA_BROKERS"] = "k:1"
        environment["COUPONGATE_KAFKA_TOPIC"] = "coupons.v1"
        environment["COUPONGATE_KAFKA_CREATE_TOPIC"] = "off"
        let fromEnvironment = try #require(try ServerConfiguration(flags: Flags(withRelay: true), environment: environment).distributed?.kafka)
        #expect(fromEnvironment.topic == "coupons.v1")
        #expect(!fromEnvironment.createTopic)
    }

    @Test(arguments: [
        (Flags(kafka: .init(brokers: "a:1")), "--with-relay"),
        (Flags(withRelay: true, kafka: .init(brokers: "a:0")), "'a:0' for --kafka"),
        (Flags(withRelay: true, kafka: .init(brokers: "a:1", topic: "bad topic")), "--kafka-topic"),
        (Flags(withRelay: true, kafka: .init(brokers: "a:1", createTopic: "maybe")), "--kafka-create-topic"),
        (Flags(withRelay: true, kafka: .init(brokers: "a:1", partitions: "0")), "--kafka-partitions"),
        (Flags(withRelay: true, kafka: .init(topic: "t")), "--kafka-topic needs --kafka"),
    ])
    func badKafkaSettingsNameTheSetting(_ flags: Flags, _ named: String) {
        let error = #expect(throws: SettingError.self) { try ServerConfiguration(flags: flags, environment: self.distributed) }
        #expect(error?.description.contains(named) == true, "\(error?.description ?? "no error") names \(named)")
    }

    @Test func kafkaWithoutDistributedModeIsRefused() {
        let error = #expect(throws: SettingError.self) { try ServerConfiguration(flags: Flags(kafka: .init(brokers: "a:1")), environment: [:]) }
        #expect(error?.description.contains("distributed mode") == true)
    }

    @Test func consumeNeedsBrokersAndADatabase() throws {
        let (settings, database) = try CouponEventConsumer.Settings.resolve(
            brokers: "k:9092",
            topic: nil,
            group: "g1",
            deadLetterTopic: nil,
            postgres: nil,
            mysql: "mysql://u@127.0.0.1/db",
            environment: [:]
        )
        #expect(settings.group == "g1")
        #expect(settings.deadLetters == "coupon_create.dlq")
        #expect(database.description.hasPrefix("mysql://"))

        let noBrokers = #expect(throws: SettingError.self) {
            try CouponEventConsumer.Settings.resolve(
                brokers: nil,
                topic: nil,
                group: nil,
                deadLetterTopic: nil,
                postgres: "postgres://u@h/db",
                mysql: nil,
                environment: [:]
            )
        }
        #expect(noBrokers?.description.contains("--kafka") == true)
        let noDatabase = #expect(throws: SettingError.self) {
            try CouponEventConsumer.Settings.resolve(
                brokers: "k:1",
                topic: nil,
                group: nil,
                deadLetterTopic: nil,
                postgres: nil,
                mysql: nil,
                environment: [:]
            )
        }
        #expect(noDatabase?.description.contains("database of record") == true)
        let sameTopic = #expect(throws: SettingError.self) {
            try CouponEventConsumer.Settings.resolve(
                brokers: "k:1",
                topic: "t",
                group: nil,
                deadLetterTopic: "t",
                postgres: "postgres://u@h/db",
                mysql: nil,
                environment: [:]
            )
        }
        #expect(sameTopic?.description.contains("must differ") == true)
    }
}
