import NIOCore

/// SaslAuthenticate (key 36): one client token of the SASL exchange; the answer holds the server's token.
///
/// Versions 0–2 (flexible from 2); v1 added the session lifetime to the response.
struct SaslAuthenticateRequest: KafkaRequest, Hashable {
    typealias Response = SaslAuthenticateResponse

    static let apiKey = KafkaAPIKey.saslAuthenticate
    static let supportedVersions: ClosedRange<Int16> = 0...2
    static let firstFlexibleVersion: Int16? = 2

    var authBytes: [UInt8]

    func encode(into buffer: inout ByteBuffer, version: Int16) throws {
        let flexible = Self.isFlexible(version)
        try buffer.writeKafkaBytes(ByteBuffer(bytes: self.authBytes), flexible: flexible)
        buffer.writeKafkaTaggedFields(flexible: flexible)
    }

    static func decodeResponse(_ body: inout ByteBuffer, version: Int16) throws -> SaslAuthenticateResponse {
        var reader = KafkaBodyReader(body, flexible: Self.isFlexible(version), message: "\(Self.name(version)) response")
        let errorCode = try reader.errorCode()
        let errorMessage = try reader.nullableString("error_message")
        let authBytes = try reader.bytes("auth_bytes")
        let sessionLifetime = version >= 1 ? try reader.int64("session_lifetime_ms") : 0
        if Self.isFlexible(version) { try reader.taggedFields() }
        try reader.finish()
        return SaslAuthenticateResponse(
            errorCode: errorCode,
            errorMessage: errorMessage,
            authBytes: Array(authBytes.readableBytesView),
            sessionLifetimeMs: sessionLifetime
        )
    }
}
