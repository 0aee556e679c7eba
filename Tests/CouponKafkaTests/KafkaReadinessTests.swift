import Kafka
import Logging
import Synchronization
import Testing

@testable import CouponKafka

/// The start-up wait of the relay's sink and the consumer: retry what may mend, stop on what cannot.
@Suite struct KafkaReadinessTests {
    private static let logger = Logger(label: "KafkaReadinessTests")

    @Test func aBrokerThatComesUpIsWaitedFor() async throws {
        let attempts = Mutex(0)
        let value = try await retryingUntilKafkaIsReady(logger: Self.logger, metadata: [:]) {
            let attempt = attempts.withLock { count in
                count += 1
                return count
            }
            guard attempt >= 3 else { throw KafkaError(.connectionClosed, message: "no Kafka broker answers") }
            return "ready"
        }
        #expect(value == "ready")
        #expect(attempts.withLock { $0 } == 3)
    }

    @Test(arguments: [KafkaError.Code.authenticationFailed, .tlsFailed])
    func aSecurityFailureStopsAtOnce(_ code: KafkaError.Code) async {
        let attempts = Mutex(0)
        let error = await #expect(throws: KafkaError.self) {
            try await retryingUntilKafkaIsReady(logger: Self.logger, metadata: [:]) {
                attempts.withLock { $0 += 1 }
                throw KafkaError(code, message: "refused")
            }
        }
        #expect(error?.code == code)
        #expect(attempts.withLock { $0 } == 1)
    }
}
