import ArgumentParser
import CouponServer

/// `--redis` and the database of record (`--postgres` or `--mysql`), shared by serve, relay and reconcile.
struct DistributedOptions: ParsableArguments {
    @Option(help: "Redis URL, redis://[[user]:password@]host[:port][/db] or unix:///path (COUPONGATE_REDIS_URL). Selects distributed mode.")
    var redis: String?

    @Option(
        help:
            "Redis Cluster seed nodes instead of --redis, comma-separated redis:// URLs, e.g. redis://10.0.0.1:7000,redis://10.0.0.2:7000 (COUPONGATE_REDIS_CLUSTER)."
    )
    var redisCluster: String?

    @Option(help: "PostgreSQL URL, postgres://user[:password]@host[:port]/database (COUPONGATE_POSTGRES_URL). Selects distributed mode.")
    var postgres: String?

    @Option(
        help:
            "MySQL or MariaDB URL, mysql://user[:password]@host[:port]/database[?socket=PATH&ssl-mode=required] (COUPONGATE_MYSQL_URL). Instead of --postgres."
    )
    var mysql: String?

    @Option(
        help:
            "Relay to Kafka instead of the database: the brokers, HOST:PORT[,HOST:PORT…] (COUPONGATE_KAFKA_BROKERS); the campaigns are still read from the database."
    )
    var kafka: String?

    @Option(help: "--kafka: the topic of coupon events (COUPONGATE_KAFKA_TOPIC; default coupon_create).")
    var kafkaTopic: String?

    @Option(help: "--kafka: create the topic at start when it is missing, on or off (COUPONGATE_KAFKA_CREATE_TOPIC; default on).")
    var kafkaCreateTopic: String?

    @Option(help: "--kafka: the partitions of a topic created at start (COUPONGATE_KAFKA_PARTITIONS; default 3).")
    var kafkaPartitions: String?

    @OptionGroup var kafkaSecurity: KafkaSecurityOptions

    /// The Kafka flags as given, for `DistributedConfiguration`.
    var kafkaFlags: DistributedConfiguration.KafkaFlags {
        .init(
            brokers: self.kafka,
            topic: self.kafkaTopic,
            createTopic: self.kafkaCreateTopic,
            partitions: self.kafkaPartitions,
            security: self.kafkaSecurity.flags
        )
    }

    /// Both URLs, from the flags or the environment, for a command that only works in distributed mode.
    func required(by command: String, environment: [String: String]) throws -> DistributedConfiguration {
        guard
            let distributed = try DistributedConfiguration(
                redis: self.redis,
                redisCluster: self.redisCluster,
                postgres: self.postgres,
                mysql: self.mysql,
                withRelay: false,
                kafka: self.kafkaFlags,
                environment: environment
            )
        else {
            throw ValidationError(
                "\(command) needs --redis URL and a database of record, --postgres URL or --mysql URL (or COUPONGATE_REDIS_URL and COUPONGATE_POSTGRES_URL or COUPONGATE_MYSQL_URL)"
            )
        }
        return distributed
    }
}
