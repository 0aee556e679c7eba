import NIOCore
import Testing

@testable import Kafka

/// SaslHandshake and SaslAuthenticate on the wire, and the security settings of the client configuration.
struct SecurityConfigurationTests {
    @Test func saslHandshakeBytes() throws {
        #expect(try body(SaslHandshakeRequest(mechanism: "PLAIN"), version: 1) == hex("00 05 \(ascii("PLAIN"))"))
        let refused = try decode(SaslHandshakeRequest.self, version: 1, "00 21  00 00 00 01  00 0d \(ascii("SCRAM-SHA-512"))")
        #expect(refused == SaslHandshakeResponse(errorCode: .unsupportedSaslMechanism, mechanisms: ["SCRAM-SHA-512"]))
        #expect(KafkaErrorCode.unsupportedSaslMechanism.description == "UNSUPPORTED_SASL_MECHANISM (33)")
    }

    @Test func saslAuthenticateBytes() throws {
        let request = SaslAuthenticateRequest(authBytes: [1, 2])
        #expect(try body(request, version: 0) == hex("00 00 00 02 01 02"))
        #expect(try body(request, version: 2) == hex("03 01 02  00"))
        #expect(SaslAuthenticateRequest.responseHeaderVersion(2) == 1)
        #expect(SaslAuthenticateRequest.responseHeaderVersion(1) == 0)
    }

    @Test func saslAuthenticateResponsesDecode() throws {
        let v0 = try decode(SaslAuthenticateRequest.self, version: 0, "00 00  ff ff  00 00 00 01 78")
        #expect(v0 == SaslAuthenticateResponse(errorCode: .none, errorMessage: nil, authBytes: [0x78], sessionLifetimeMs: 0))
        let v1 = try decode(SaslAuthenticateRequest.self, version: 1, "00 3a  00 02 6e 6f  00 00 00 00  00 00 00 00 00 00 00 05")
        #expect(v1.errorCode == .saslAuthenticationFailed)
        #expect(v1.errorMessage == "no")
        #expect(v1.sessionLifetimeMs == 5)
        let v2 = try decode(SaslAuthenticateRequest.self, version: 2, "00 00  00  02 79  00 00 00 00 00 00 00 00  00")
        #expect(v2.authBytes == [0x79])
        #expect(try KafkaAPIVersions([.saslAuthenticate: 0...2]).negotiate(SaslAuthenticateRequest.self) == 2)
        #expect(KafkaAPIKey.saslAuthenticate.description == "SaslAuthenticate")
    }

    @Test func thePasswordIsNeverShown() {
        let sasl = KafkaSASL(mechanism: .scramSHA512, username: "alice", password: "hunter2-secret")
        var configuration = KafkaClientConfiguration(brokers: [KafkaBrokerAddress(host: "127.0.0.1", port: 9092)])
        configuration.sasl = sasl
        for text in ["\(sasl)", String(reflecting: sasl), "\(configuration.sasl.map { "\($0)" } ?? "")"] {
            #expect(!text.contains("hunter2"))
            #expect(text.contains("alice"))
            #expect(text.contains("SCRAM-SHA-512"))
        }
        #expect(configuration.connection.sasl == sasl)
        #expect(configuration.connection.tls == nil)
    }

    @Test func mechanismsAreFoundByName() {
        #expect(KafkaSASL.Mechanism(named: "scram-sha-256") == .scramSHA256)
        #expect(KafkaSASL.Mechanism(named: "SCRAM-SHA-512") == .scramSHA512)
        #expect(KafkaSASL.Mechanism(named: "PLAIN") == .plain)
        #expect(KafkaSASL.Mechanism(named: "GSSAPI") == nil)
    }

    @Test func authenticationAndTLSFailuresAreNotRetriable() {
        #expect(!KafkaError(.authenticationFailed, message: "x").isRetriable)
        #expect(!KafkaError(.tlsFailed, message: "x").isRetriable)
        #expect(KafkaError(.connectionClosed, message: "x").isRetriable)
        #expect(!KafkaError(.brokerError, message: "x", brokerCode: .saslAuthenticationFailed).isRetriable)
    }
}
