import NIOCore

/// The generation joined; the leader also gets every member's subscription, to compute the assignment.
struct JoinGroupResponse: Sendable, Hashable {
    struct Member: Sendable, Hashable {
        var memberID: String
        var groupInstanceID: String?
        var metadata: ByteBuffer
    }

    var throttleTimeMs: Int32
    var errorCode: KafkaErrorCode
    var generationID: Int32
    /// The assignor the coordinator chose among those every member offered.
    var protocolName: String
    var leader: String
    /// This member's id (also when refused with MEMBER_ID_REQUIRED).
    var memberID: String
    /// Empty unless this member is the leader.
    var members: [Member]
}
