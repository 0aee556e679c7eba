import Foundation
import Logging
import NIOCore
import NIOSSL
import Synchronization
import Testing

@testable import Kafka

/// Runs only against a real broker: checks/kafka_security.py starts tansu (with `--authentication`
/// for the SASL cases) behind a TLS listener, and sets:
/// - `KAFKA_SECURITY_TLS_BROKER`: host:port of the TLS listener (broker without authentication);
/// - `KAFKA_SECURITY_CA`: the CA that signed its certificate; `KAFKA_SECURITY_OTHER_CA`: one that did not;
/// - `KAFKA_SECURITY_TOPIC`, `KAFKA_SECURITY_RECORDS`: what the client writes there and reads back;
/// - `KAFKA_SECURITY_AUTH_BROKER`, `KAFKA_SECURITY_AUTH_TLS_BROKER`: plaintext and TLS listeners of a
///   broker that requires SASL (with no user the check could create; see docs/KAFKA.md).
/// Run by checks/kafka_security.py; scripts/test.sh's main run skips it (`--skip`) and runs that check
/// instead. Without the brokers it fails, as every integration test does.
extension IntegrationTests {
    @Suite(.serialized)
    struct KafkaSecurityInteropTests {
        @Test func produceAndConsumeOverTLS() async throws {
            let topic = Security.topic
            let client = try Security.client(Security.tlsBroker, ca: Security.ca)
            let producer = KafkaProducer(configuration: .init(client: client), logger: Logger(label: "KafkaSecurity.producer"))
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                tasks.addTask { try await producer.run() }
                #expect(try await producer.createTopicIfMissing(topic, partitions: 2, replicationFactor: 1))
                let now = Int64(Date().timeIntervalSince1970 * 1000)
                let records = (0..<Security.records).map { index in
                    KafkaProducerRecord(
                        topic: topic,
                        key: ByteBuffer(string: "tls-key-\(index)"),
                        value: ByteBuffer(string: "tls-value-\(index)"),
                        timestamp: now
                    )
                }
                try await producer.send(records)
                tasks.cancelAll()
                try? await tasks.waitForAll()
            }
            print("security: produced \(Security.records) records over TLS")

            let seen = Seen()
            var configuration = KafkaConsumer.Configuration(client: client, groupID: "security-\(UUID())", topics: [topic])
            configuration.sessionTimeout = .seconds(6)
            let consumer = KafkaConsumer(configuration: configuration, logger: Logger(label: "KafkaSecurity.consumer"))
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                tasks.addTask { try await consumer.run { records in seen.add(records) } }
                let deadline = ContinuousClock.now + .seconds(60)
                while seen.count < Security.records && ContinuousClock.now < deadline {
                    try await Task.sleep(for: .milliseconds(100))
                }
                tasks.cancelAll()
                try? await tasks.waitForAll()
            }
            #expect(seen.values == Set((0..<Security.records).map { "tls-value-\($0)" }))
            print("security: consumed \(seen.count) records over TLS")
        }

        @Test func anUntrustedCertificateFailsPromptly() async throws {
            let client = try Security.client(Security.tlsBroker, ca: Security.otherCA)
            let error = try await Security.failure(client)
            #expect(error.code == .tlsFailed, "\(error)")
            #expect(error.message.contains(try #require(Security.tlsBroker)), "\(error)")
            #expect(!error.isRetriable)
            print("security: untrusted CA: \(error)")
        }

        @Test func plaintextAgainstTheTLSListenerFailsPromptly() async throws {
            let client = try Security.client(Security.tlsBroker, ca: nil)
            let error = try await Security.failure(client)
            #expect(error.message.contains("is it a TLS listener?"), "\(error)")
            print("security: plaintext against TLS: \(error)")
        }

        @Test
        func anUnknownUserIsRefusedWithTheBrokersReason() async throws {
            for mechanism in [KafkaSASL.Mechanism.scramSHA256, .scramSHA512] {
                var client = try Security.client(Security.authBroker, ca: nil)
                client.sasl = KafkaSASL(mechanism: mechanism, username: "nobody", password: "wrong-password")
                let error = try await Security.failure(client)
                #expect(error.code == .authenticationFailed, "\(error)")
                #expect(error.message.contains(mechanism.name), "\(error)")
                #expect(error.message.contains("nobody"), "\(error)")
                #expect(!error.message.contains("wrong-password"))
                #expect(!error.isRetriable)
                print("security: \(mechanism) unknown user: \(error)")
            }
        }

        @Test
        func saslOverTLSRefusesAWrongPassword() async throws {
            var client = try Security.client(Security.authTLSBroker, ca: Security.ca)
            client.sasl = KafkaSASL(mechanism: .scramSHA512, username: "nobody", password: "wrong-password")
            let error = try await Security.failure(client)
            #expect(error.code == .authenticationFailed, "\(error)")
            #expect(!error.isRetriable)
            print("security: SCRAM over TLS: \(error)")
        }

        @Test
        func aMechanismTheBrokerDoesNotOfferIsNamed() async throws {
            var client = try Security.client(Security.authBroker, ca: nil)
            client.sasl = KafkaSASL(mechanism: .plain, username: "nobody", password: "pw")
            let error = try await Security.failure(client)
            #expect(error.code == .authenticationFailed, "\(error)")
            #expect(error.message.contains("PLAIN"), "\(error)")
            print("security: PLAIN: \(error)")
        }
    }
}

private enum Security {
    static let environment = ProcessInfo.processInfo.environment
    static let tlsBroker = environment["KAFKA_SECURITY_TLS_BROKER"]
    static let authBroker = environment["KAFKA_SECURITY_AUTH_BROKER"]
    static let authTLSBroker = environment["KAFKA_SECURITY_AUTH_TLS_BROKER"]
    static let ca = environment["KAFKA_SECURITY_CA"]
    static let otherCA = environment["KAFKA_SECURITY_OTHER_CA"]
    static let topic = environment["KAFKA_SECURITY_TOPIC"] ?? "security"
    static let records = Int(environment["KAFKA_SECURITY_RECORDS"] ?? "") ?? 20

    static func client(_ broker: String?, ca: String?) throws -> KafkaClientConfiguration {
        let address = try KafkaBrokerAddress(
            parsing: try #require(broker, "not set: python3 -m checks.kafka_security starts the brokers and sets KAFKA_SECURITY_*")
        )
        var client = KafkaClientConfiguration(brokers: [address])
        client.connectTimeout = .seconds(3)
        client.requestTimeout = .seconds(5)
        if let ca {
            var tls = TLSConfiguration.makeClientConfiguration()
            tls.trustRoots = .file(ca)
            client.tls = tls
        }
        return client
    }

    /// The error a metadata read fails with, which must come well within the deadlines.
    static func failure(_ client: KafkaClientConfiguration) async throws -> KafkaError {
        let cluster = KafkaCluster(configuration: client, logger: Logger(label: "KafkaSecurity"))
        let started = ContinuousClock.now
        let error = try #require(await #expect(throws: KafkaError.self) { _ = try await cluster.topic("any") })
        await cluster.shutdown()
        #expect(ContinuousClock.now - started < .seconds(4), "failed only after \(ContinuousClock.now - started)")
        return error
    }
}

private final class Seen: Sendable {
    private let state = Mutex(Set<String>())

    func add(_ records: [KafkaConsumerRecord]) {
        self.state.withLock { values in
            for record in records { values.insert(String(decoding: record.value ?? [], as: UTF8.self)) }
        }
    }

    var values: Set<String> { self.state.withLock { $0 } }
    var count: Int { self.values.count }
}
