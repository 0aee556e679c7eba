import ArgumentParser
import CouponServer

/// TLS and SASL to the Kafka brokers, shared by the relay (`relay`, `serve --with-relay`) and `consume`.
struct KafkaSecurityOptions: ParsableArguments {
    @Option(help: "Kafka over TLS, on or off; the system's trust store unless --kafka-ca-file (COUPONGATE_KAFKA_TLS; default off).")
    var kafkaTls: String?

    @Option(help: "PEM file of the CAs a broker's certificate must chain to; turns TLS on (COUPONGATE_KAFKA_CA_FILE).")
    var kafkaCaFile: String?

    @Option(
        help:
            "SASL with the brokers: PLAIN (TLS only), SCRAM-SHA-256 or SCRAM-SHA-512 (COUPONGATE_KAFKA_SASL_MECHANISM); the password is read from COUPONGATE_KAFKA_PASSWORD."
    )
    var kafkaSaslMechanism: String?

    @Option(help: "The SASL user (COUPONGATE_KAFKA_USERNAME).")
    var kafkaUsername: String?

    var flags: KafkaSecurityFlags {
        .init(tls: self.kafkaTls, caFile: self.kafkaCaFile, saslMechanism: self.kafkaSaslMechanism, username: self.kafkaUsername)
    }
}
