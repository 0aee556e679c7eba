/// The offset found for each partition asked about.
struct ListOffsetsResponse: Sendable, Hashable {
    struct Partition: Sendable, Hashable {
        var partitionIndex: Int32
        var errorCode: KafkaErrorCode
        var timestamp: Int64
        var offset: Int64
        var leaderEpoch: Int32
    }

    struct Topic: Sendable, Hashable {
        var name: String
        var partitions: [Partition]
    }

    var throttleTimeMs: Int32
    var topics: [Topic]
}
