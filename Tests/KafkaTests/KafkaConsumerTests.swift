import Logging
import Testing

@testable import Kafka

@Suite struct KafkaConsumerTests {
    private static func consumer(groupID: String = "g", topics: [String] = ["t"], heartbeat: Duration = .seconds(1)) -> KafkaConsumer {
        var configuration = KafkaConsumer.Configuration(
            client: KafkaClientConfiguration(brokers: [KafkaBrokerAddress(host: "127.0.0.1", port: 1)]),
            groupID: groupID,
            topics: topics
        )
        configuration.heartbeatInterval = heartbeat
        return KafkaConsumer(configuration: configuration, logger: Logger(label: "KafkaConsumerTests"))
    }

    @Test(arguments: [
        (consumer(groupID: ""), "group id is empty"),
        (consumer(topics: []), "subscribes to no topic"),
        (consumer(topics: ["t", ""]), "empty name"),
        (consumer(heartbeat: .seconds(10)), "must be shorter than the session timeout"),
    ])
    func configurationsThatCannotWorkAreRefusedBeforeConnecting(consumer: KafkaConsumer, fragment: String) async {
        let error = await #expect(throws: KafkaError.self) { try await consumer.run { _ in } }
        #expect(error?.code == .invalidArgument)
        #expect(error?.message.contains(fragment) == true, "\(error?.message ?? "no error")")
    }

    @Test func anUnreachableBrokerIsRetriedUntilCancelled() async throws {
        // Port 1 refuses connections: the consumer logs, backs off and tries again rather than failing.
        let consumer = Self.consumer()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await consumer.run { _ in } }
            try await Task.sleep(for: .milliseconds(500))
            group.cancelAll()
            try await group.waitForAll()
        }
    }

    @Test func durationsBecomeMilliseconds() {
        #expect(KafkaConsumer.milliseconds(.milliseconds(500)) == 500)
        #expect(KafkaConsumer.milliseconds(.seconds(10)) == 10_000)
        #expect(KafkaConsumer.milliseconds(.seconds(1_000_000_000)) == Int32.max)
    }
}
