import NIOCore

/// OffsetFetch (key 9): the group's committed offsets of some partitions.
///
/// Versions 1–5, all classic: Kafka 4 removed v0, v6 is flexible.
struct OffsetFetchRequest: KafkaRequest, Hashable {
    typealias Response = OffsetFetchResponse

    static let apiKey = KafkaAPIKey.offsetFetch
    static let supportedVersions: ClosedRange<Int16> = 1...5
    static let firstFlexibleVersion: Int16? = nil

    struct Topic: Sendable, Hashable {
        var name: String
        var partitionIndexes: [Int32]
    }

    var groupID: String
    var topics: [Topic]

    func encode(into buffer: inout ByteBuffer, version: Int16) throws {
        try buffer.writeKafkaString(self.groupID)
        try buffer.writeKafkaArray(self.topics) { buffer, topic in
            try buffer.writeKafkaString(topic.name)
            try buffer.writeKafkaArray(topic.partitionIndexes) { buffer, index in buffer.writeKafkaInt32(index) }
        }
    }

    static func decodeResponse(_ body: inout ByteBuffer, version: Int16) throws -> OffsetFetchResponse {
        var reader = KafkaBodyReader(body, flexible: false, message: "\(Self.name(version)) response")
        let throttleTime = version >= 3 ? try reader.int32("throttle_time_ms") : 0
        let topics = try reader.array("topics") { reader in
            let name = try reader.string("name")
            let partitions = try reader.array("partitions") { reader in
                OffsetFetchResponse.Partition(
                    partitionIndex: try reader.int32("partition_index"),
                    committedOffset: try reader.int64("committed_offset"),
                    committedLeaderEpoch: version >= 5 ? try reader.int32("committed_leader_epoch") : -1,
                    metadata: try reader.nullableString("metadata"),
                    errorCode: try reader.errorCode()
                )
            }
            return OffsetFetchResponse.Topic(name: name, partitions: partitions)
        }
        let errorCode = version >= 2 ? try reader.errorCode() : .none
        try reader.finish()
        return OffsetFetchResponse(throttleTimeMs: throttleTime, topics: topics, errorCode: errorCode)
    }
}
