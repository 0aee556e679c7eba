import CouponKafka
import CouponServer
import Foundation
import Kafka
import Testing

/// `--kafka-tls`, `--kafka-ca-file`, `--kafka-sasl-mechanism`, `--kafka-username` and
/// `COUPONGATE_KAFKA_PASSWORD`, for the relay (`serve --with-relay` here) and `consume`.
@Suite struct KafkaSecuritySettingsTests {
    typealias Flags = ServerConfiguration.Flags
    let distributed = ["COUPONGATE_REDIS_URL": "redis://127.0.0.1:6379", "COUPONGATE_POSTGRES_URL": "postgres://u@127.0.0.1/db"]

    /// A self-signed CA made for this test with openssl (no key is kept).
    static let caPEM = """
        -----BEGIN CERTIFICATE-----
        MIIBozCCAUmgAwIBAgIUThzkotdtBZUtYSU9rCVYPYRT1HwwCgYIKoZIzj0EAwIw
        JjEkMCIGA1UEAwwbY291cG9uZ2F0ZSBzZXR0aW5ncyB0ZXN0IENBMCAXDTI2MTIw
        MzEzNDYxM1oYDzIxMjYxMTA5MTM0NjEzWjAmMSQwIgYDVQQDDBtjb3Vwb25nYXRl
        IHNldHRpbmdzIHRlc3QgQ0EwWTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAAQu3tqu
        5HGi3iNhw4TurEDC4DG/mEZ+wtIelKQRo74hv21I48xJHre0SMkFJaqrEC2j55Ua
        weButo+PnZRX1NmEo1MwUTAdBgNVHQ4EFgQUQasqBiYL11zADPMensKIuw6hT6Ew
        HwYDVR0jBBgwFoAUQasqBiYL11zADPMensKIuw6hT6EwDwYDVR0TAQH/BAUwAwEB
        /zAKBggqhkjOPQQDAgNIADBFAiAH5y7j7BhiJXynRgr0Pby0hSGCZjpaKvfPe3UL
        tfdaKQIhAKmnu1Vsrgbt+i/A/kop4/0M49Joupi5M67iZOzrXUb5
        -----END CERTIFICATE-----
        """

    private func relaySecurity(_ security: KafkaSecurityFlags, environment: [String: String] = [:]) throws -> KafkaSecuritySettings {
        let flags = Flags(withRelay: true, kafka: .init(brokers: "k:9093", security: security))
        let configuration = try ServerConfiguration(flags: flags, environment: self.distributed.merging(environment) { $1 })
        return try #require(configuration.distributed?.kafka).security
    }

    private func relayError(_ security: KafkaSecurityFlags, environment: [String: String] = [:]) -> String {
        let error = #expect(throws: SettingError.self) { try self.relaySecurity(security, environment: environment) }
        return error?.description ?? "no error"
    }

    private func withCAFile(_ contents: String, _ body: (String) throws -> Void) throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("cg-ca-\(UUID().uuidString).pem").path
        try Data(contents.utf8).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        try body(path)
    }

    @Test func plaintextWithoutAuthenticationByDefault() throws {
        let security = try self.relaySecurity(.init())
        #expect(security.tls == nil)
        #expect(security.sasl == nil)
        #expect(security.client(brokers: []).tls == nil)
    }

    @Test func tlsOnTrustsTheSystemStore() throws {
        let security = try self.relaySecurity(.init(tls: "on"))
        let tls = try #require(security.tls)
        #expect(tls.trustedCertificates == nil)
        #expect(security.client(brokers: []).tls != nil)
        #expect(try self.relaySecurity(.init(tls: "off")).tls == nil)
        #expect(self.relayError(.init(tls: "yes please")).contains("'yes please' for --kafka-tls"))
    }

    @Test func aCAFileTurnsTLSOnAndIsTheOnlyTrustRoot() throws {
        try self.withCAFile(Self.caPEM) { path in
            let security = try self.relaySecurity(.init(caFile: path))
            #expect(try #require(security.tls).trustedCertificates?.count == 1)
            let fromEnvironment = try self.relaySecurity(.init(), environment: ["COUPONGATE_KAFKA_CA_FILE": path])
            #expect(fromEnvironment == security)
            #expect(self.relayError(.init(tls: "off", caFile: path)).contains("--kafka-tls is off"))
        }
    }

    @Test func anUnreadableCAFileIsNamed() throws {
        let missing = self.relayError(.init(caFile: "/nonexistent/ca.pem"))
        #expect(missing.contains("--kafka-ca-file") && missing.contains("/nonexistent/ca.pem"), "\(missing)")
        try self.withCAFile("not a certificate\n") { path in
            let garbage = self.relayError(.init(caFile: path))
            #expect(garbage.contains("--kafka-ca-file") && garbage.contains(path), "\(garbage)")
        }
    }

    @Test func scramTakesTheUserFromAFlagAndThePasswordFromTheEnvironment() throws {
        let security = try self.relaySecurity(
            .init(saslMechanism: "scram-sha-512", username: "relay"),
            environment: ["COUPONGATE_KAFKA_PASSWORD": "s3cret"]
        )
        let sasl = try #require(security.sasl)
        #expect(sasl.mechanism == .scramSHA512)
        #expect(sasl.username == "relay" && sasl.password == "s3cret")
        #expect(security.tls == nil)
        #expect(!"\(security)".contains("s3cret"))
        #expect("\(security)".contains("SCRAM-SHA-512"))
        #expect(security.client(brokers: []).sasl == sasl)
    }

    @Test(arguments: [
        (KafkaSecurityFlags(saslMechanism: "GSSAPI", username: "u"), ["COUPONGATE_KAFKA_PASSWORD": "p"], "'GSSAPI' for --kafka-sasl-mechanism"),
        (KafkaSecurityFlags(saslMechanism: "SCRAM-SHA-256"), ["COUPONGATE_KAFKA_PASSWORD": "p"], "needs --kafka-username"),
        (KafkaSecurityFlags(saslMechanism: "SCRAM-SHA-256", username: "u"), [:], "COUPONGATE_KAFKA_PASSWORD"),
        (KafkaSecurityFlags(username: "u"), [:], "--kafka-username needs --kafka-sasl-mechanism"),
        (KafkaSecurityFlags(), ["COUPONGATE_KAFKA_PASSWORD": "p"], "COUPONGATE_KAFKA_PASSWORD needs --kafka-sasl-mechanism"),
        (KafkaSecurityFlags(saslMechanism: "PLAIN", username: "u"), ["COUPONGATE_KAFKA_PASSWORD": "p"], "sends the password in clear"),
    ])
    func badSASLSettingsNameTheSetting(_ flags: KafkaSecurityFlags, _ environment: [String: String], _ named: String) {
        let error = self.relayError(flags, environment: environment)
        #expect(error.contains(named), "\(error) names \(named)")
    }

    @Test func plainOverTLSIsAccepted() throws {
        let security = try self.relaySecurity(
            .init(tls: "on", saslMechanism: "PLAIN", username: "u"),
            environment: ["COUPONGATE_KAFKA_PASSWORD": "p"]
        )
        #expect(security.sasl?.mechanism == .plain)
        #expect(security.tls != nil)
    }

    @Test func securityWithoutBrokersIsRefused() {
        let flags = Flags(withRelay: true, kafka: .init(security: .init(tls: "on")))
        let error = #expect(throws: SettingError.self) { try ServerConfiguration(flags: flags, environment: self.distributed) }
        #expect(error?.description.contains("--kafka-tls needs --kafka") == true, "\(error?.description ?? "no error")")
    }

    @Test func consumeTakesTheSameSecuritySettings() throws {
        let (settings, _) = try CouponEventConsumer.Settings.resolve(
            brokers: "k:9093",
            topic: nil,
            group: nil,
            deadLetterTopic: nil,
            security: .init(tls: "on", saslMechanism: "SCRAM-SHA-256", username: "consumer"),
            postgres: nil,
            mysql: "mysql://u@127.0.0.1/db",
            environment: ["COUPONGATE_KAFKA_PASSWORD": "pw"]
        )
        #expect(settings.security.tls != nil)
        #expect(settings.security.sasl == KafkaSASL(mechanism: .scramSHA256, username: "consumer", password: "pw"))
    }
}
