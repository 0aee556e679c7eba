import ArgumentParser
import CouponKafka
import CouponServer
import Foundation

struct ConsumeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "consume",
        abstract: "Read coupon events from Kafka (written by relay --kafka) into the database of record, as a consumer group member."
    )

    @Option(help: "The Kafka brokers, HOST:PORT[,HOST:PORT…] (COUPONGATE_KAFKA_BROKERS).")
    var kafka: String?

    @Option(help: "The topic of coupon events (COUPONGATE_KAFKA_TOPIC; default coupon_create).")
    var kafkaTopic: String?

    @Option(help: "The consumer group; consumers of one group share the partitions (COUPONGATE_KAFKA_GROUP; default coupongate).")
    var group: String?

    @Option(help: "Where records that are not coupon events go (COUPONGATE_KAFKA_DEAD_LETTER_TOPIC; default TOPIC.dlq).")
    var deadLetterTopic: String?

    @Option(help: "PostgreSQL URL, postgres://user[:password]@host[:port]/database (COUPONGATE_POSTGRES_URL).")
    var postgres: String?

    @Option(help: "MySQL or MariaDB URL, mysql://user[:password]@host[:port]/database (COUPONGATE_MYSQL_URL). Instead of --postgres.")
    var mysql: String?

    @OptionGroup var kafkaSecurity: KafkaSecurityOptions

    @OptionGroup var worker: WorkerOptions

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        let settings: CouponEventConsumer.Settings
        let database: DistributedConfiguration.Database
        do {
            (settings, database) = try CouponEventConsumer.Settings.resolve(
                brokers: self.kafka,
                topic: self.kafkaTopic,
                group: self.group,
                deadLetterTopic: self.deadLetterTopic,
                security: self.kafkaSecurity.flags,
                postgres: self.postgres,
                mysql: self.mysql,
                environment: environment
            )
        } catch {
            throw ValidationError(error.description)
        }
        try await runConsumer(
            database,
            settings: settings,
            metricsAddress: self.worker.metricsAddress,
            logger: try commandLogger(self.worker.logLevel, environment: environment)
        )
    }
}
