import CouponTestSupport
import Foundation
import Logging
import ServiceLifecycle
import Synchronization
import Testing

@testable import Kafka

/// Runs only against a real broker: checks/kafka_consumer_interop.py starts one (tansu), produces with
/// librdkafka, and sets `KAFKA_CONSUMER_INTEROP_BROKER=host:port`, `…_TOPIC`, `…_GROUP`, and per test the
/// rest; it then checks the group's committed offsets, and the split with a librdkafka consumer, itself.
private enum Interop {
    static let environment = ProcessInfo.processInfo.environment
    static let broker = environment["KAFKA_CONSUMER_INTEROP_BROKER"]
    static let topic = environment["KAFKA_CONSUMER_INTEROP_TOPIC"] ?? "consumer-interop"
    static let group = environment["KAFKA_CONSUMER_INTEROP_GROUP"] ?? "consumer-interop"
    /// consumeEveryRecordOnce: how many records the topic holds (key-i → value-i).
    static let recordCount = Int(environment["KAFKA_CONSUMER_INTEROP_RECORDS"] ?? "") ?? 60
    /// consumeEveryRecordOnce: how long the handler takes over the first batch it accepts; longer than the
    /// session timeout, it shows that heartbeats go on beside a slow handler.
    static let slowHandler = Duration.seconds(Int(environment["KAFKA_CONSUMER_INTEROP_SLOW_SECONDS"] ?? "") ?? 0)
    /// consumeIntoAFileUntilStopped: where each record consumed is written, and the file whose existence ends the test.
    static let output = environment["KAFKA_CONSUMER_INTEROP_OUTPUT"]
    static let stopFile = environment["KAFKA_CONSUMER_INTEROP_STOP"]

    static func consumer() throws -> KafkaConsumer {
        let broker = try #require(broker, "KAFKA_CONSUMER_INTEROP_BROKER is not set: python3 -m checks.kafka_consumer_interop sets it")
        var client = KafkaClientConfiguration(brokers: [try KafkaBrokerAddress(parsing: broker)])
        client.requestTimeout = .seconds(5)
        var configuration = KafkaConsumer.Configuration(client: client, groupID: group, topics: [topic])
        configuration.sessionTimeout = .seconds(10)
        configuration.rebalanceTimeout = .seconds(10)
        configuration.heartbeatInterval = .milliseconds(500)
        configuration.retryBackoff = .milliseconds(50)
        configuration.maximumRetryBackoff = .seconds(1)
        var logger = Logger(label: "KafkaConsumerInterop")
        logger.logLevel = .info
        return KafkaConsumer(configuration: configuration, logger: logger)
    }

    /// Runs `consumer` as a service until `done` is true (polled), then shuts it down gracefully.
    static func run(
        _ consumer: KafkaConsumer,
        handler: @escaping KafkaConsumer.Handler,
        timeout: Duration,
        until done: () -> Bool
    ) async throws
        -> Bool
    {
        let group = ServiceGroup(
            configuration: .init(
                services: [.init(service: ConsumerService(consumer: consumer, handler: handler))],
                logger: Logger(label: "KafkaConsumerInterop.group")
            )
        )
        return try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            let deadline = ContinuousClock.now + timeout
            var finished = done()
            while !finished && ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(100))
                finished = done()
            }
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
            return finished
        }
    }
}

private struct ConsumerService: Service {
    let consumer: KafkaConsumer
    let handler: KafkaConsumer.Handler

    func run() async throws {
        try await self.consumer.run(self.handler)
    }
}

private struct HandlerFailure: Error {}

/// What the handler saw, shared with the test (a `Mutex` cannot be captured by an escaping closure itself).
private final class Seen: Sendable {
    struct State {
        var delivered: [KafkaConsumerRecord] = []
        var refused: [KafkaConsumerRecord]?
        var afterRefusal: [KafkaConsumerRecord]?
    }

    let state = Mutex(State())
}

extension IntegrationTests {
    /// Run by checks/kafka_consumer_interop.py, which starts the broker and produces the records with
    /// librdkafka; scripts/test.sh's main run skips it. Without a broker it fails, as every integration test does.
    @Suite struct KafkaConsumerInteropTests {
        /// Every record once, in offset order per partition; the first batch is refused once by the handler and
        /// must come again, uncommitted, and then takes the handler `KAFKA_CONSUMER_INTEROP_SLOW_SECONDS`. The check then reads the group's committed offsets with librdkafka.
        @Test func consumeEveryRecordOnce() async throws {
            let seen = Seen()
            let consumer = try Interop.consumer()
            let finished = try await Interop.run(
                consumer,
                handler: { records in
                    let first = try seen.state.withLock { seen in
                        if seen.refused == nil {
                            seen.refused = records
                            throw HandlerFailure()
                        }
                        return seen.afterRefusal == nil
                    }
                    if first {
                        try await Task.sleep(for: Interop.slowHandler)
                    }
                    seen.state.withLock { seen in
                        if seen.afterRefusal == nil { seen.afterRefusal = records }
                        seen.delivered += records
                    }
                },
                timeout: .seconds(90),
                until: { seen.state.withLock { $0.delivered.count >= Interop.recordCount } }
            )
            let result = seen.state.withLock { $0 }
            #expect(finished, "only \(result.delivered.count) of \(Interop.recordCount) records arrived within 90 s")
            #expect(result.refused != nil && result.refused == result.afterRefusal, "the refused batch is delivered again as it was")
            let keys = result.delivered.map { String(decoding: $0.key ?? [], as: UTF8.self) }
            #expect(keys.count == Interop.recordCount, "every record exactly once, got \(keys.count)")
            #expect(Set(keys) == Set((0..<Interop.recordCount).map { "key-\($0)" }))
            for record in result.delivered {
                let key = String(decoding: record.key ?? [], as: UTF8.self)
                #expect(String(decoding: record.value ?? [], as: UTF8.self) == key.replacingOccurrences(of: "key-", with: "value-"))
            }
            for partition in Set(result.delivered.map(\.partition)) {
                let offsets = result.delivered.filter { $0.partition == partition }.map(\.offset)
                #expect(offsets == Array(0..<Int64(offsets.count)), "partition \(partition) in offset order from 0, got \(offsets)")
            }
            print("interop: consumed \(result.delivered.count) records from partitions \(Set(result.delivered.map(\.partition)).sorted())")
        }

        /// Every record consumed is written to the output file (`partition offset key`) until the check creates
        /// the stop file; meanwhile the check has a librdkafka consumer join the group, or stalls the broker.
        @Test func consumeIntoAFileUntilStopped() async throws {
            let output = URL(fileURLWithPath: try #require(Interop.output, "KAFKA_CONSUMER_INTEROP_OUTPUT is not set"))
            let stopFile = try #require(Interop.stopFile, "KAFKA_CONSUMER_INTEROP_STOP is not set")
            #expect(FileManager.default.createFile(atPath: output.path, contents: nil), "cannot create \(output.path)")
            let consumer = try Interop.consumer()
            let finished = try await Interop.run(
                consumer,
                handler: { records in
                    let lines = records.map { "\($0.partition) \($0.offset) \(String(decoding: $0.key ?? [], as: UTF8.self))\n" }.joined()
                    let handle = try FileHandle(forWritingTo: output)
                    defer { try? handle.close() }
                    try handle.seekToEnd()
                    try handle.write(contentsOf: Data(lines.utf8))
                },
                timeout: .seconds(150),
                until: { FileManager.default.fileExists(atPath: stopFile) }
            )
            #expect(finished, "the check did not create the stop file within 150 s")
        }
    }
}
