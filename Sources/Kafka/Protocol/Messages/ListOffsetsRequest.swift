import NIOCore

/// ListOffsets (key 2): a partition's earliest or latest offset, or the first at a timestamp.
///
/// Versions 1–5, all classic: Kafka 4 removed v0, v6 is flexible.
struct ListOffsetsRequest: KafkaRequest, Hashable {
    typealias Response = ListOffsetsResponse

    static let apiKey = KafkaAPIKey.listOffsets
    static let supportedVersions: ClosedRange<Int16> = 1...5
    static let firstFlexibleVersion: Int16? = nil

    /// The special timestamps.
    static let latest: Int64 = -1
    static let earliest: Int64 = -2

    struct Partition: Sendable, Hashable {
        var partitionIndex: Int32
        /// -1: not checked (v4+).
        var currentLeaderEpoch: Int32 = -1
        /// `latest`, `earliest` or milliseconds since the epoch.
        var timestamp: Int64
    }

    struct Topic: Sendable, Hashable {
        var name: String
        var partitions: [Partition]
    }

    /// 0: read uncommitted (latest is the high watermark); 1: read committed (the last stable offset). v2+.
    var isolationLevel: Int8 = 0
    var topics: [Topic]

    func encode(into buffer: inout ByteBuffer, version: Int16) throws {
        buffer.writeKafkaInt32(-1)  // replica_id: a consumer
        if version >= 2 { buffer.writeKafkaInt8(self.isolationLevel) }
        try buffer.writeKafkaArray(self.topics) { buffer, topic in
            try buffer.writeKafkaString(topic.name)
            try buffer.writeKafkaArray(topic.partitions) { buffer, partition in
                buffer.writeKafkaInt32(partition.partitionIndex)
                if version >= 4 { buffer.writeKafkaInt32(partition.currentLeaderEpoch) }
                buffer.writeKafkaInt64(partition.timestamp)
            }
        }
    }

    static func decodeResponse(_ body: inout ByteBuffer, version: Int16) throws -> ListOffsetsResponse {
        var reader = KafkaBodyReader(body, flexible: false, message: "\(Self.name(version)) response")
        let throttleTime = version >= 2 ? try reader.int32("throttle_time_ms") : 0
        let topics = try reader.array("topics") { reader in
            let name = try reader.string("name")
            let partitions = try reader.array("partitions") { reader in
                ListOffsetsResponse.Partition(
                    partitionIndex: try reader.int32("partition_index"),
                    errorCode: try reader.errorCode(),
                    timestamp: try reader.int64("timestamp"),
                    offset: try reader.int64("offset"),
                    leaderEpoch: version >= 4 ? try reader.int32("leader_epoch") : -1
                )
            }
            return ListOffsetsResponse.Topic(name: name, partitions: partitions)
        }
        try reader.finish()
        return ListOffsetsResponse(throttleTimeMs: throttleTime, topics: topics)
    }
}
