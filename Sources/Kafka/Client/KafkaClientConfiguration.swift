import NIOCore
import NIOSSL

/// Where the cluster is and how long to wait for it; shared by the producer and the consumer.
public struct KafkaClientConfiguration: Sendable {
    /// Brokers to bootstrap from: any one that answers gives the rest of the cluster.
    public var brokers: [KafkaBrokerAddress]
    /// Sent in every request header; brokers log it and use it for quotas.
    public var clientID: String = "coupongate"
    public var connectTimeout: Duration = .seconds(5)
    /// The deadline of each request; a broker that is down or stalled fails the call within it.
    public var requestTimeout: Duration = .seconds(10)
    /// How long cached metadata (leaders, partition counts) is trusted before it is read again.
    public var metadataMaxAge: Duration = .seconds(60)
    /// TLS for every connection (bootstrap, per broker, the consumer's coordinator); nil for plaintext.
    /// Each broker's host (as the metadata names it) is the server name checked against its certificate.
    public var tls: TLSConfiguration?
    /// SASL authentication on every connection, right after ApiVersions; nil for none.
    public var sasl: KafkaSASL?

    public init(brokers: [KafkaBrokerAddress]) {
        self.brokers = brokers
    }

    var connection: KafkaConnection.Configuration {
        var configuration = KafkaConnection.Configuration()
        configuration.clientID = self.clientID
        configuration.connectTimeout = TimeAmount(self.connectTimeout)
        configuration.requestTimeout = TimeAmount(self.requestTimeout)
        configuration.tls = self.tls
        configuration.sasl = self.sasl
        return configuration
    }
}

extension TimeAmount {
    init(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        self = .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}
