import NIOCore

/// FindCoordinator (key 10): the broker that coordinates a consumer group.
///
/// Versions 1–3 (flexible from 3): v4 asks for several keys at once, with a different response layout.
struct FindCoordinatorRequest: KafkaRequest, Hashable {
    typealias Response = FindCoordinatorResponse

    static let apiKey = KafkaAPIKey.findCoordinator
    static let supportedVersions: ClosedRange<Int16> = 1...3
    static let firstFlexibleVersion: Int16? = 3

    /// The group id.
    var key: String
    /// 0: a consumer group; 1: a transactional id.
    var keyType: Int8 = 0

    func encode(into buffer: inout ByteBuffer, version: Int16) throws {
        let flexible = Self.isFlexible(version)
        try buffer.writeKafkaString(self.key, flexible: flexible)
        buffer.writeKafkaInt8(self.keyType)
        buffer.writeKafkaTaggedFields(flexible: flexible)
    }

    static func decodeResponse(_ body: inout ByteBuffer, version: Int16) throws -> FindCoordinatorResponse {
        var reader = KafkaBodyReader(body, flexible: Self.isFlexible(version), message: "\(Self.name(version)) response")
        let response = FindCoordinatorResponse(
            throttleTimeMs: try reader.int32("throttle_time_ms"),
            errorCode: try reader.errorCode(),
            errorMessage: try reader.nullableString("error_message"),
            nodeID: try reader.int32("node_id"),
            host: try reader.string("host"),
            port: try reader.int32("port")
        )
        try reader.taggedFields()
        try reader.finish()
        return response
    }
}
