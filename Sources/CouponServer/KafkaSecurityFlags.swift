import CouponKafka
import Kafka

/// `--kafka-tls`, `--kafka-ca-file`, `--kafka-sasl-mechanism` and `--kafka-username`, as given; shared by
/// the relay (`relay`, `serve --with-relay`) and `consume`. The password is read from
/// `COUPONGATE_KAFKA_PASSWORD` only, so it is never on a command line that `ps` shows.
public struct KafkaSecurityFlags: Sendable {
    public var tls: String?
    public var caFile: String?
    public var saslMechanism: String?
    public var username: String?

    public init(tls: String? = nil, caFile: String? = nil, saslMechanism: String? = nil, username: String? = nil) {
        self.tls = tls
        self.caFile = caFile
        self.saslMechanism = saslMechanism
        self.username = username
    }

    static let passwordVariable = "COUPONGATE_KAFKA_PASSWORD"

    /// The settings these flags (else their `COUPONGATE_KAFKA_…` variables) ask for.
    ///
    /// A CA file turns TLS on. PLAIN is refused without TLS: it sends the password in clear.
    /// - Throws: naming the setting that is wrong or missing.
    func resolve(_ reader: SettingReader) throws(SettingError) -> KafkaSecuritySettings {
        var settings = KafkaSecuritySettings()
        let tls = try reader.pick(self.tls, option: "kafka-tls", variable: "COUPONGATE_KAFKA_TLS").map { setting throws(SettingError) in
            (setting, try setting.onOrOff())
        }
        if let caFile = reader.pick(self.caFile, option: "kafka-ca-file", variable: "COUPONGATE_KAFKA_CA_FILE") {
            if let (setting, on) = tls, !on {
                throw SettingError("\(caFile.source) is for TLS, but \(setting.source) is off")
            }
            do {
                settings.tls = .init(trustedCertificates: try KafkaSecuritySettings.TLS.certificates(fromPEMFile: caFile.text))
            } catch {
                throw SettingError("invalid value for \(caFile.source): \(error.message)")
            }
        } else if let (_, on) = tls, on {
            settings.tls = .init()
        }

        let mechanism = reader.pick(self.saslMechanism, option: "kafka-sasl-mechanism", variable: "COUPONGATE_KAFKA_SASL_MECHANISM")
        let username = reader.pick(self.username, option: "kafka-username", variable: "COUPONGATE_KAFKA_USERNAME")
        let password = reader.environment[Self.passwordVariable]
        guard let mechanism else {
            if let given = username?.source ?? (password == nil ? nil : Self.passwordVariable) {
                throw SettingError("\(given) needs --kafka-sasl-mechanism PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512 (or COUPONGATE_KAFKA_SASL_MECHANISM)")
            }
            return settings
        }
        guard let known = KafkaSASL.Mechanism(named: mechanism.text) else {
            throw mechanism.invalid("expected PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512")
        }
        guard let username, !username.text.isEmpty else {
            throw SettingError("\(mechanism.source) needs --kafka-username NAME (or COUPONGATE_KAFKA_USERNAME)")
        }
        guard let password, !password.isEmpty else {
            throw SettingError("\(mechanism.source) needs the password in \(Self.passwordVariable)")
        }
        if known == .plain && settings.tls == nil {
            throw SettingError(
                "\(mechanism.source) PLAIN sends the password in clear: add --kafka-tls on (or --kafka-ca-file), or use SCRAM-SHA-256"
            )
        }
        settings.sasl = KafkaSASL(mechanism: known, username: username.text, password: password)
        return settings
    }

    /// The first of these settings that is given, for an error when `--kafka` is not.
    func anyGiven(_ reader: SettingReader) -> String? {
        let picked = [
            reader.pick(self.tls, option: "kafka-tls", variable: "COUPONGATE_KAFKA_TLS"),
            reader.pick(self.caFile, option: "kafka-ca-file", variable: "COUPONGATE_KAFKA_CA_FILE"),
            reader.pick(self.saslMechanism, option: "kafka-sasl-mechanism", variable: "COUPONGATE_KAFKA_SASL_MECHANISM"),
            reader.pick(self.username, option: "kafka-username", variable: "COUPONGATE_KAFKA_USERNAME"),
        ]
        return picked.compactMap { $0?.source }.first
    }
}
