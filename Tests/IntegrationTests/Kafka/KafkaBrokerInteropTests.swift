import CouponTestSupport
import Foundation
import Logging
import NIOCore
import Testing

@testable import Kafka

/// Runs only against a real broker: checks/kafka_interop.py starts one (tansu) and sets
/// `KAFKA_INTEROP_BROKER=host:port` and `KAFKA_INTEROP_TOPIC`, then reads the records back with
/// confluent-kafka and checks their keys, values, headers and partitions.
private enum Interop {
    static let environment = ProcessInfo.processInfo.environment
    static let broker = environment["KAFKA_INTEROP_BROKER"]
    static let topic = environment["KAFKA_INTEROP_TOPIC"] ?? "interop"
    /// The records the check expects: key-i → value-i, header source=swift.
    static let recordCount = Int(environment["KAFKA_INTEROP_RECORDS"] ?? "") ?? 30
    static let partitions: Int32 = 3
    /// The records `KafkaProducer` sends to `<topic>-producer`: pkey-i → pvalue-i.
    static let producerRecordCount = Int(environment["KAFKA_INTEROP_PRODUCER_RECORDS"] ?? "") ?? 2000
}

extension IntegrationTests {
    /// Run by checks/kafka_interop.py, which starts the broker and reads the records back with
    /// librdkafka; scripts/test.sh's main run skips it (`--skip`) and runs that check instead. Without
    /// a broker it fails, as every integration test does.
    @Suite struct KafkaBrokerInteropTests {
        @Test func produceToARealBroker() async throws {
            let broker = try #require(Interop.broker, "KAFKA_INTEROP_BROKER is not set: python3 -m checks.kafka_interop starts tansu and sets it")
            let address = broker.split(separator: ":")
            let host = String(try #require(address.first))
            let port = try #require(address.last.flatMap { Int($0) })
            let connection = try await KafkaConnection.connect(host: host, port: port, logger: Logger(label: "KafkaInterop"))
            defer { connection.close() }

            let versions = try #require(connection.apiVersions)
            for request in [KafkaAPIKey.produce, .metadata, .initProducerID, .createTopics] {
                #expect(versions[request] != nil, "the broker offers \(request)")
            }
            for key in [KafkaAPIKey.apiVersions, .metadata, .produce, .initProducerID, .createTopics] {
                print("interop: the broker offers \(key) \(versions[key].map { "v\($0.lowerBound)–v\($0.upperBound)" } ?? "not at all")")
            }
            print(
                "interop: negotiated Produce v\(try versions.negotiate(ProduceRequest.self)), Metadata v\(try versions.negotiate(MetadataRequest.self))"
            )

            let created = try await connection.send(
                CreateTopicsRequest(topics: [.init(name: Interop.topic, numPartitions: Interop.partitions, replicationFactor: 1)])
            )
            let creation = try #require(created.topics.first)
            #expect(creation.errorCode == .none || creation.errorCode == .topicAlreadyExists, "CreateTopics: \(creation.errorCode)")

            // Leaders may take a moment to be elected after creation.
            var topic: MetadataResponse.Topic?
            for _ in 0..<50 {
                let metadata = try await connection.send(MetadataRequest(topics: [Interop.topic]))
                #expect(!metadata.brokers.isEmpty)
                if let found = metadata.topics.first, found.errorCode == .none, found.partitions.count == Int(Interop.partitions),
                    found.partitions.allSatisfy({ $0.leaderID >= 0 })
                {
                    topic = found
                    break
                }
                try await Task.sleep(for: .milliseconds(100))
            }
            let partitions = try #require(topic?.partitions, "Metadata never showed \(Interop.partitions) partitions with leaders")
            #expect(Set(partitions.map(\.partitionIndex)) == [0, 1, 2])

            let producer = try await connection.send(InitProducerIDRequest())
            #expect(producer.errorCode == .none)
            #expect(producer.producerID >= 0)

            // One idempotent batch per partition, keys placed by murmur2 as the Java client would.
            let now = Int64(Date().timeIntervalSince1970 * 1000)
            var byPartition: [Int32: [(key: ByteBuffer?, value: ByteBuffer?, headers: [KafkaRecordHeader], timestamp: Int64)]] = [:]
            for index in 0..<Interop.recordCount {
                let key = "key-\(index)"
                let partition = try KafkaPartitioner.partition(forKey: Array(key.utf8), partitionCount: Interop.partitions)
                byPartition[partition, default: []].append(
                    (
                        key: ByteBuffer(string: key),
                        value: ByteBuffer(string: "value-\(index)"),
                        headers: [KafkaRecordHeader(key: "source", value: ByteBuffer(string: "swift"))],
                        timestamp: now + Int64(index)
                    )
                )
            }
            let partitionData = try byPartition.sorted { $0.key < $1.key }.map { partition, records in
                try ProduceRequest.PartitionData(
                    index: partition,
                    batch: try RecordBatch(
                        producing: records,
                        producerID: producer.producerID,
                        producerEpoch: producer.producerEpoch,
                        baseSequence: 0
                    )
                )
            }
            let produced = try await connection.send(ProduceRequest(topics: [.init(name: Interop.topic, partitions: partitionData)]))
            let results = try #require(produced.topics.first?.partitions)
            #expect(results.count == byPartition.count)
            for result in results {
                #expect(result.errorCode == .none, "partition \(result.index): \(result.errorCode) \(result.errorMessage ?? "")")
                #expect(result.baseOffset >= 0)
                print("interop: partition \(result.index) got \(byPartition[result.index]?.count ?? 0) records at offset \(result.baseOffset)")
            }
        }

        /// The producer end to end: topic creation, metadata, a producer id, batches per partition
        /// (several sends at once, so records of different calls share batches), acks=all.
        @Test func producerDeliversEveryRecord() async throws {
            let broker = try #require(Interop.broker, "KAFKA_INTEROP_BROKER is not set: python3 -m checks.kafka_interop starts tansu and sets it")
            let topic = "\(Interop.topic)-producer"
            var configuration = KafkaProducer.Configuration(client: .init(brokers: try KafkaBrokerAddress.list(parsing: broker)))
            configuration.batchBytes = 16 * 1024
            let producer = KafkaProducer(configuration: configuration, logger: Logger(label: "KafkaInterop"))
            try await withThrowingTaskGroup { group in
                group.addTask { try await producer.run() }
                #expect(try await producer.createTopicIfMissing(topic, partitions: Interop.partitions))
                #expect(try await producer.createTopicIfMissing(topic, partitions: Interop.partitions) == false, "a second creation finds it")
                #expect(try await producer.partitionCount(of: topic) == Interop.partitions)
                let now = Int64(Date().timeIntervalSince1970 * 1000)
                // Ten callers of 200 records each, at once.
                try await withThrowingTaskGroup { senders in
                    for caller in 0..<10 {
                        senders.addTask {
                            let records = stride(from: caller, to: Interop.producerRecordCount, by: 10).map { index in
                                KafkaProducerRecord(
                                    topic: topic,
                                    key: ByteBuffer(string: "pkey-\(index)"),
                                    value: ByteBuffer(string: "pvalue-\(index)"),
                                    timestamp: now
                                )
                            }
                            try await producer.send(records)
                        }
                    }
                    try await senders.waitForAll()
                }
                #expect(producer.recordsInFlight == 0)
                let missing = KafkaProducerRecord(topic: topic, key: nil, value: nil, timestamp: now, partition: 7)
                let error = await #expect(throws: KafkaError.self) { try await producer.send([missing]) }
                #expect(error?.code == .invalidArgument)
                print("interop: KafkaProducer delivered \(Interop.producerRecordCount) records to \(topic)")
                group.cancelAll()
            }
        }
    }
}
