import NIOCore

/// LeaveGroup (key 13): leaves the group at once, so its partitions move without waiting for the session timeout.
///
/// Versions 1–2, all classic (v3 names several members, v4 is flexible).
struct LeaveGroupRequest: KafkaRequest, Hashable {
    typealias Response = LeaveGroupResponse

    static let apiKey = KafkaAPIKey.leaveGroup
    static let supportedVersions: ClosedRange<Int16> = 1...2
    static let firstFlexibleVersion: Int16? = nil

    var groupID: String
    var memberID: String

    func encode(into buffer: inout ByteBuffer, version: Int16) throws {
        try buffer.writeKafkaString(self.groupID)
        try buffer.writeKafkaString(self.memberID)
    }

    static func decodeResponse(_ body: inout ByteBuffer, version: Int16) throws -> LeaveGroupResponse {
        try GroupErrorResponse.decode(body, message: "\(Self.name(version)) response")
    }
}

typealias LeaveGroupResponse = GroupErrorResponse
