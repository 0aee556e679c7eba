/// Where the group's coordinator is, or why it cannot be named yet.
struct FindCoordinatorResponse: Sendable, Hashable {
    var throttleTimeMs: Int32
    var errorCode: KafkaErrorCode
    var errorMessage: String?
    var nodeID: Int32
    var host: String
    var port: Int32
}
