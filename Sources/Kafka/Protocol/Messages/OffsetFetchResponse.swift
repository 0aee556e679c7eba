/// The committed offset of each partition asked about.
struct OffsetFetchResponse: Sendable, Hashable {
    struct Partition: Sendable, Hashable {
        var partitionIndex: Int32
        /// -1 when the group has committed none for this partition.
        var committedOffset: Int64
        var committedLeaderEpoch: Int32
        var metadata: String?
        var errorCode: KafkaErrorCode
    }

    struct Topic: Sendable, Hashable {
        var name: String
        var partitions: [Partition]
    }

    var throttleTimeMs: Int32
    var topics: [Topic]
    /// A whole-request error (v2+), e.g. NOT_COORDINATOR.
    var errorCode: KafkaErrorCode
}
