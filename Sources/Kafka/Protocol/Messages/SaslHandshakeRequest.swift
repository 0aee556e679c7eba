import NIOCore

/// SaslHandshake (key 17): names the SASL mechanism the client will use; the broker lists the ones it offers.
///
/// Only v1: the tokens then go in SaslAuthenticate requests (v0 sent them as raw frames, which
/// brokers keep only for old clients).
struct SaslHandshakeRequest: KafkaRequest, Hashable {
    typealias Response = SaslHandshakeResponse

    static let apiKey = KafkaAPIKey.saslHandshake
    static let supportedVersions: ClosedRange<Int16> = 1...1
    static let firstFlexibleVersion: Int16? = nil

    /// E.g. "SCRAM-SHA-256".
    var mechanism: String

    func encode(into buffer: inout ByteBuffer, version: Int16) throws {
        try buffer.writeKafkaString(self.mechanism)
    }

    static func decodeResponse(_ body: inout ByteBuffer, version: Int16) throws -> SaslHandshakeResponse {
        var reader = KafkaBodyReader(body, flexible: false, message: "\(Self.name(version)) response")
        let response = SaslHandshakeResponse(
            errorCode: try reader.errorCode(),
            mechanisms: try reader.array("mechanisms") { try $0.string("mechanism") }
        )
        try reader.finish()
        return response
    }
}
