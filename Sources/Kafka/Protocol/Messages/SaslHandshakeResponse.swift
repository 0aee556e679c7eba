/// The broker's answer to SaslHandshake: `UNSUPPORTED_SASL_MECHANISM` when it does not offer the one asked for.
struct SaslHandshakeResponse: Sendable, Hashable {
    var errorCode: KafkaErrorCode
    /// The mechanisms the broker offers.
    var mechanisms: [String]
}
