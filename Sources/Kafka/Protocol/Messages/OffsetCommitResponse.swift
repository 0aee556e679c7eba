/// Whether each partition's offset was stored.
struct OffsetCommitResponse: Sendable, Hashable {
    struct Partition: Sendable, Hashable {
        var partitionIndex: Int32
        var errorCode: KafkaErrorCode
    }

    struct Topic: Sendable, Hashable {
        var name: String
        var partitions: [Partition]
    }

    var throttleTimeMs: Int32
    var topics: [Topic]
}
