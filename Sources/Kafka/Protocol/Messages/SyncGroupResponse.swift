import NIOCore

/// This member's share of the assignment (a `ConsumerProtocolAssignment`; empty bytes for none).
struct SyncGroupResponse: Sendable, Hashable {
    var throttleTimeMs: Int32
    var errorCode: KafkaErrorCode
    var assignment: ByteBuffer
}
