import NIOCore

/// SyncGroup (key 14): the leader hands in the assignment; every member gets its own share back.
///
/// Versions 1–3, all classic (v4 is flexible, v5 adds the protocol type and name).
struct SyncGroupRequest: KafkaRequest, Hashable {
    typealias Response = SyncGroupResponse

    static let apiKey = KafkaAPIKey.syncGroup
    static let supportedVersions: ClosedRange<Int16> = 1...3
    static let firstFlexibleVersion: Int16? = nil

    struct Assignment: Sendable, Hashable {
        var memberID: String
        /// A `ConsumerProtocolAssignment`.
        var assignment: ByteBuffer
    }

    var groupID: String
    var generationID: Int32
    var memberID: String
    var groupInstanceID: String? = nil
    /// Empty unless this member is the leader.
    var assignments: [Assignment]

    func encode(into buffer: inout ByteBuffer, version: Int16) throws {
        try buffer.writeKafkaString(self.groupID)
        buffer.writeKafkaInt32(self.generationID)
        try buffer.writeKafkaString(self.memberID)
        if version >= 3 { try buffer.writeKafkaNullableString(self.groupInstanceID) }
        try buffer.writeKafkaArray(self.assignments) { buffer, assignment in
            try buffer.writeKafkaString(assignment.memberID)
            try buffer.writeKafkaBytes(assignment.assignment)
        }
    }

    static func decodeResponse(_ body: inout ByteBuffer, version: Int16) throws -> SyncGroupResponse {
        var reader = KafkaBodyReader(body, flexible: false, message: "\(Self.name(version)) response")
        let response = SyncGroupResponse(
            throttleTimeMs: try reader.int32("throttle_time_ms"),
            errorCode: try reader.errorCode(),
            assignment: try reader.bytes("assignment")
        )
        try reader.finish()
        return response
    }
}
