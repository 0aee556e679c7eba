import NIOCore

/// OffsetCommit (key 8): stores the group's position (the next offset to consume) per partition.
///
/// Versions 2–7, all classic: Kafka 4 removed v0–v1, v8 is flexible.
struct OffsetCommitRequest: KafkaRequest, Hashable {
    typealias Response = OffsetCommitResponse

    static let apiKey = KafkaAPIKey.offsetCommit
    static let supportedVersions: ClosedRange<Int16> = 2...7
    static let firstFlexibleVersion: Int16? = nil

    struct Partition: Sendable, Hashable {
        var partitionIndex: Int32
        /// The next offset to consume, not the last one consumed.
        var committedOffset: Int64
        /// The leader epoch of the last record consumed, -1 when unknown (v6+).
        var committedLeaderEpoch: Int32 = -1
        var committedMetadata: String? = nil
    }

    struct Topic: Sendable, Hashable {
        var name: String
        var partitions: [Partition]
    }

    var groupID: String
    var generationID: Int32
    var memberID: String
    var groupInstanceID: String? = nil
    var topics: [Topic]

    func encode(into buffer: inout ByteBuffer, version: Int16) throws {
        try buffer.writeKafkaString(self.groupID)
        buffer.writeKafkaInt32(self.generationID)
        try buffer.writeKafkaString(self.memberID)
        if version >= 7 { try buffer.writeKafkaNullableString(self.groupInstanceID) }
        if version <= 4 { buffer.writeKafkaInt64(-1) }  // retention_time_ms: the broker's default
        try buffer.writeKafkaArray(self.topics) { buffer, topic in
            try buffer.writeKafkaString(topic.name)
            try buffer.writeKafkaArray(topic.partitions) { buffer, partition in
                buffer.writeKafkaInt32(partition.partitionIndex)
                buffer.writeKafkaInt64(partition.committedOffset)
                if version >= 6 { buffer.writeKafkaInt32(partition.committedLeaderEpoch) }
                try buffer.writeKafkaNullableString(partition.committedMetadata)
            }
        }
    }

    static func decodeResponse(_ body: inout ByteBuffer, version: Int16) throws -> OffsetCommitResponse {
        var reader = KafkaBodyReader(body, flexible: false, message: "\(Self.name(version)) response")
        let throttleTime = version >= 3 ? try reader.int32("throttle_time_ms") : 0
        let topics = try reader.array("topics") { reader in
            let name = try reader.string("name")
            let partitions = try reader.array("partitions") { reader in
                OffsetCommitResponse.Partition(partitionIndex: try reader.int32("partition_index"), errorCode: try reader.errorCode())
            }
            return OffsetCommitResponse.Topic(name: name, partitions: partitions)
        }
        try reader.finish()
        return OffsetCommitResponse(throttleTimeMs: throttleTime, topics: topics)
    }
}
