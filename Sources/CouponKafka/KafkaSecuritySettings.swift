import Kafka
import NIOSSL

/// How the relay and the consumer reach the brokers: TLS, SASL, both or neither (`--kafka-tls`,
/// `--kafka-ca-file`, `--kafka-sasl-mechanism`, `--kafka-username`, `COUPONGATE_KAFKA_PASSWORD`).
///
/// Its description never shows the password, so it can be logged.
public struct KafkaSecuritySettings: Sendable, Hashable, CustomStringConvertible {
    /// TLS to every broker; nil for plaintext.
    public var tls: TLS?
    /// SASL on every connection; nil for none.
    public var sasl: KafkaSASL?

    public struct TLS: Sendable, Hashable {
        /// The certificate authorities a broker's certificate must chain to; nil for the system's trust store.
        public var trustedCertificates: [NIOSSLCertificate]?

        public init(trustedCertificates: [NIOSSLCertificate]? = nil) {
            self.trustedCertificates = trustedCertificates
        }

        /// The certificates of the PEM file at `path` (one or more), for ``trustedCertificates``.
        /// - Throws: the reason, naming the file, when it cannot be read or holds no PEM certificate.
        public static func certificates(fromPEMFile path: String) throws(KafkaSettingError) -> [NIOSSLCertificate] {
            let certificates: [NIOSSLCertificate]
            do {
                certificates = try NIOSSLCertificate.fromPEMFile(path)
            } catch {
                throw KafkaSettingError(message: "cannot read PEM certificates from '\(path)': \(error)")
            }
            guard !certificates.isEmpty else {
                throw KafkaSettingError(message: "'\(path)' holds no PEM certificate")
            }
            return certificates
        }
    }

    public init(tls: TLS? = nil, sasl: KafkaSASL? = nil) {
        self.tls = tls
        self.sasl = sasl
    }

    /// A client of `brokers` with these settings.
    public func client(brokers: [KafkaBrokerAddress]) -> KafkaClientConfiguration {
        var client = KafkaClientConfiguration(brokers: brokers)
        if let tls = self.tls {
            var configuration = TLSConfiguration.makeClientConfiguration()
            if let trusted = tls.trustedCertificates { configuration.trustRoots = .certificates(trusted) }
            client.tls = configuration
        }
        client.sasl = self.sasl
        return client
    }

    public var description: String {
        let transport =
            switch self.tls {
            case nil: "plaintext"
            case let tls?:
                if let trusted = tls.trustedCertificates {
                    "TLS (trusting \(trusted.count) CA certificate\(trusted.count == 1 ? "" : "s"))"
                } else {
                    "TLS (the system's trust store)"
                }
            }
        guard let sasl = self.sasl else { return transport }
        return "\(transport), SASL \(sasl.mechanism) as \(sasl.username)"
    }
}
