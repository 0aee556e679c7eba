import NIOCore

/// Heartbeat (key 12): keeps the member in its generation; the answer says when a rebalance began.
///
/// Versions 1–3, all classic (v4 is flexible).
struct HeartbeatRequest: KafkaRequest, Hashable {
    typealias Response = HeartbeatResponse

    static let apiKey = KafkaAPIKey.heartbeat
    static let supportedVersions: ClosedRange<Int16> = 1...3
    static let firstFlexibleVersion: Int16? = nil

    var groupID: String
    var generationID: Int32
    var memberID: String
    var groupInstanceID: String? = nil

    func encode(into buffer: inout ByteBuffer, version: Int16) throws {
        try buffer.writeKafkaString(self.groupID)
        buffer.writeKafkaInt32(self.generationID)
        try buffer.writeKafkaString(self.memberID)
        if version >= 3 { try buffer.writeKafkaNullableString(self.groupInstanceID) }
    }

    static func decodeResponse(_ body: inout ByteBuffer, version: Int16) throws -> HeartbeatResponse {
        try GroupErrorResponse.decode(body, message: "\(Self.name(version)) response")
    }
}

typealias HeartbeatResponse = GroupErrorResponse
