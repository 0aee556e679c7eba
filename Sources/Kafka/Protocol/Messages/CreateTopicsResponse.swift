/// The outcome of creating each topic.
struct CreateTopicsResponse: Sendable, Hashable {
    struct Topic: Sendable, Hashable {
        var name: String
        var errorCode: KafkaErrorCode
        var errorMessage: String?
        /// As created (v5+); -1 when the version does not say.
        var numPartitions: Int32
        var replicationFactor: Int16
    }

    var throttleTimeMs: Int32
    var topics: [Topic]
}
