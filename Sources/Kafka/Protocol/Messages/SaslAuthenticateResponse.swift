/// The broker's answer to SaslAuthenticate: its token, or why authentication failed.
struct SaslAuthenticateResponse: Sendable, Hashable {
    var errorCode: KafkaErrorCode
    var errorMessage: String?
    var authBytes: [UInt8]
    /// How long the broker keeps the session before re-authentication is needed (0: no limit, or v0).
    var sessionLifetimeMs: Int64
}
