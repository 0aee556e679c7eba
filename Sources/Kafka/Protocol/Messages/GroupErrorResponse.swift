import NIOCore

/// The answer to Heartbeat and LeaveGroup in the versions this client speaks: a throttle time and an error code.
struct GroupErrorResponse: Sendable, Hashable {
    var throttleTimeMs: Int32
    var errorCode: KafkaErrorCode

    static func decode(_ body: ByteBuffer, message: String) throws -> GroupErrorResponse {
        var reader = KafkaBodyReader(body, flexible: false, message: message)
        let response = GroupErrorResponse(throttleTimeMs: try reader.int32("throttle_time_ms"), errorCode: try reader.errorCode())
        try reader.finish()
        return response
    }
}
