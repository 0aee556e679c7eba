import CouponCore
import CouponKafka
import CouponMySQL
import CouponRedis
import CouponStore
import Logging

/// Distributed mode: the gate in Redis, coupons in a database of record (PostgreSQL or MySQL).
public struct DistributedConfiguration: Sendable {
    /// The database of record: exactly one per deployment.
    public enum Database: Sendable, Hashable, CustomStringConvertible {
        case postgres(PostgresURL)
        case mysql(MySQLURL)

        /// The URL with its password masked.
        public var description: String {
            switch self {
            case .postgres(let url): url.description
            case .mysql(let url): url.description
            }
        }

        /// A store for this database, not yet running: add it to a `ServiceGroup` or use `withRunning`.
        public func makeStore(logger: Logger) -> any DatabaseOfRecord {
            switch self {
            case .postgres(let url): PostgresCouponStore(configuration: .init(url: url), logger: logger)
            case .mysql(let url): MySQLCouponStore(configuration: .init(url: url), logger: logger)
            }
        }
    }

    /// Where the gate lives: one Redis server, or a Redis Cluster.
    public var redis: RedisDeployment
    public var database: Database
    /// Run the outbox relay in the API process too (`serve --with-relay`).
    public var withRelay: Bool
    /// The relay's sink when it is Kafka (`--kafka`); nil: the database of record.
    public var kafka: KafkaSinkSettings?

    public init(redis: RedisDeployment, database: Database, withRelay: Bool = false, kafka: KafkaSinkSettings? = nil) {
        self.redis = redis
        self.database = database
        self.withRelay = withRelay
        self.kafka = kafka
    }

    /// `--kafka` and its companions, as given.
    public struct KafkaFlags: Sendable {
        public var brokers: String?
        public var topic: String?
        public var createTopic: String?
        public var partitions: String?
        public var security: KafkaSecurityFlags

        public init(
            brokers: String? = nil,
            topic: String? = nil,
            createTopic: String? = nil,
            partitions: String? = nil,
            security: KafkaSecurityFlags = .init()
        ) {
            self.brokers = brokers
            self.topic = topic
            self.createTopic = createTopic
            self.partitions = partitions
            self.security = security
        }
    }

    /// Reads Redis, `--redis`/`COUPONGATE_REDIS_URL` or `--redis-cluster`/`COUPONGATE_REDIS_CLUSTER` (seed
    /// nodes' URLs, comma-separated), and the database of record, `--postgres`/`COUPONGATE_POSTGRES_URL`
    /// or `--mysql`/`COUPONGATE_MYSQL_URL`. Returns nil when none is given (the embedded default); distributed
    /// mode needs exactly one Redis and exactly one database.
    public init?(
        redis: String?,
        redisCluster: String? = nil,
        postgres: String?,
        mysql: String? = nil,
        withRelay: Bool,
        kafka kafkaFlags: KafkaFlags = KafkaFlags(),
        environment: [String: String]
    ) throws(SettingError) {
        let settings = SettingReader(environment: environment)
        let serverSetting = settings.pick(redis, option: "redis", variable: "COUPONGATE_REDIS_URL")
        let clusterSetting = settings.pick(redisCluster, option: "redis-cluster", variable: "COUPONGATE_REDIS_CLUSTER")
        if let serverSetting, let clusterSetting {
            throw SettingError(
                "\(serverSetting.source) and \(clusterSetting.source) are both given: the gate lives in one Redis server or one cluster; give one"
            )
        }
        let redisSetting = serverSetting ?? clusterSetting
        let database = try Self.database(postgres: postgres, mysql: mysql, settings: settings)
        let relay = try settings.flag(withRelay, option: "with-relay", variable: "COUPONGATE_WITH_RELAY")
        let kafka = try Self.kafkaSettings(kafkaFlags, settings: settings)

        switch (redisSetting, database) {
        case (nil, nil):
            if relay { throw SettingError("--with-relay needs distributed mode: give --redis URL and --postgres URL (or --mysql URL)") }
            if kafka != nil {
                throw SettingError("--kafka is the relay's sink and needs distributed mode: give --redis URL and --postgres URL (or --mysql URL)")
            }
            return nil
        case (nil, let database?):
            throw SettingError(
                "\(database.setting.source) needs --redis too: distributed mode keeps the gate in Redis (or give neither for the embedded default)"
            )
        case (_?, nil):
            throw SettingError(
                "--redis needs a database of record too: --postgres URL or --mysql URL (or give neither for the embedded default)"
            )
        case (let redisSetting?, let database?):
            let redis: RedisDeployment
            do {
                redis =
                    clusterSetting != nil ? try RedisDeployment(clusterURLs: redisSetting.text) : try RedisDeployment(serverURL: redisSetting.text)
            } catch {
                throw SettingError("invalid value for \(redisSetting.source): \(error.message)")
            }
            self.init(redis: redis, database: database.database, withRelay: relay, kafka: kafka)
        }
    }

    /// The database of record from `--postgres`/`COUPONGATE_POSTGRES_URL` or `--mysql`/`COUPONGATE_MYSQL_URL`
    /// (at most one), with the setting it came from; nil when neither is given.
    static func database(postgres: String?, mysql: String?, settings: SettingReader) throws(SettingError) -> (database: Database, setting: Setting)? {
        let postgresSetting = settings.pick(postgres, option: "postgres", variable: "COUPONGATE_POSTGRES_URL")
        let mysqlSetting = settings.pick(mysql, option: "mysql", variable: "COUPONGATE_MYSQL_URL")
        if let postgresSetting, let mysqlSetting {
            throw SettingError(
                "\(postgresSetting.source) and \(mysqlSetting.source) are both given: distributed mode keeps coupons in one database of record; give one"
            )
        }
        guard let setting = postgresSetting ?? mysqlSetting else { return nil }
        do {
            let database: Database = postgresSetting != nil ? .postgres(try PostgresURL(setting.text)) : .mysql(try MySQLURL(setting.text))
            return (database, setting)
        } catch {
            throw SettingError("invalid value for \(setting.source): \(error.message)")
        }
    }

    /// The Kafka sink from `--kafka`/`COUPONGATE_KAFKA_BROKERS` and its companions; nil without brokers.
    static func kafkaSettings(_ flags: KafkaFlags, settings: SettingReader) throws(SettingError) -> KafkaSinkSettings? {
        let topic = settings.pick(flags.topic, option: "kafka-topic", variable: "COUPONGATE_KAFKA_TOPIC")
        let create = settings.pick(flags.createTopic, option: "kafka-create-topic", variable: "COUPONGATE_KAFKA_CREATE_TOPIC")
        let partitions = settings.pick(flags.partitions, option: "kafka-partitions", variable: "COUPONGATE_KAFKA_PARTITIONS")
        guard let brokers = settings.pick(flags.brokers, option: "kafka", variable: "COUPONGATE_KAFKA_BROKERS") else {
            if let given = (topic ?? create ?? partitions)?.source ?? flags.security.anyGiven(settings) {
                throw SettingError("\(given) needs --kafka HOST:PORT (or COUPONGATE_KAFKA_BROKERS)")
            }
            return nil
        }
        var result: KafkaSinkSettings
        do {
            result = try KafkaSinkSettings(brokerList: brokers.text)
        } catch {
            throw SettingError("invalid value '\(brokers.text)' for \(brokers.source): \(error.message)")
        }
        if let topic {
            try KafkaSinkSettings.validateTopic(topic.text) { topic.invalid($0) }
            result.topic = topic.text
        }
        if let create {
            result.createTopic = try create.onOrOff()
        }
        if let partitions {
            guard let count = Int32(partitions.text), (1...10_000).contains(count) else {
                throw partitions.invalid("expected a partition count from 1 to 10000")
            }
            result.partitions = count
        }
        result.security = try flags.security.resolve(settings)
        return result
    }
}
