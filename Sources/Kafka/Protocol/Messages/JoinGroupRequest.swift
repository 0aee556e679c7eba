import NIOCore

/// JoinGroup (key 11): becomes a member of a group, or of its next generation.
///
/// Versions 2–5, all classic: Kafka 4 removed v0–v1, v6 is flexible. From v4 a new member is first
/// refused with MEMBER_ID_REQUIRED and the id it must join again with.
struct JoinGroupRequest: KafkaRequest, Hashable {
    typealias Response = JoinGroupResponse

    static let apiKey = KafkaAPIKey.joinGroup
    static let supportedVersions: ClosedRange<Int16> = 2...5
    static let firstFlexibleVersion: Int16? = nil

    struct GroupProtocol: Sendable, Hashable {
        /// The assignor, e.g. "range".
        var name: String
        /// The member's subscription (`ConsumerProtocolSubscription`).
        var metadata: ByteBuffer
    }

    var groupID: String
    var sessionTimeoutMs: Int32
    /// How long the coordinator waits for every member to rejoin.
    var rebalanceTimeoutMs: Int32
    /// Empty for a new member.
    var memberID: String
    /// Static membership (v5+); nil for a dynamic member.
    var groupInstanceID: String? = nil
    var protocolType: String = "consumer"
    /// In order of preference.
    var protocols: [GroupProtocol]

    func encode(into buffer: inout ByteBuffer, version: Int16) throws {
        try buffer.writeKafkaString(self.groupID)
        buffer.writeKafkaInt32(self.sessionTimeoutMs)
        buffer.writeKafkaInt32(self.rebalanceTimeoutMs)
        try buffer.writeKafkaString(self.memberID)
        if version >= 5 { try buffer.writeKafkaNullableString(self.groupInstanceID) }
        try buffer.writeKafkaString(self.protocolType)
        try buffer.writeKafkaArray(self.protocols) { buffer, groupProtocol in
            try buffer.writeKafkaString(groupProtocol.name)
            try buffer.writeKafkaBytes(groupProtocol.metadata)
        }
    }

    static func decodeResponse(_ body: inout ByteBuffer, version: Int16) throws -> JoinGroupResponse {
        var reader = KafkaBodyReader(body, flexible: false, message: "\(Self.name(version)) response")
        let throttleTime = try reader.int32("throttle_time_ms")
        let errorCode = try reader.errorCode()
        let generationID = try reader.int32("generation_id")
        let protocolName = try reader.string("protocol_name")
        let leader = try reader.string("leader")
        let memberID = try reader.string("member_id")
        let members = try reader.array("members") { reader in
            JoinGroupResponse.Member(
                memberID: try reader.string("member_id"),
                groupInstanceID: version >= 5 ? try reader.nullableString("group_instance_id") : nil,
                metadata: try reader.bytes("metadata")
            )
        }
        try reader.finish()
        return JoinGroupResponse(
            throttleTimeMs: throttleTime,
            errorCode: errorCode,
            generationID: generationID,
            protocolName: protocolName,
            leader: leader,
            memberID: memberID,
            members: members
        )
    }
}
