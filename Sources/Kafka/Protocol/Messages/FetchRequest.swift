import NIOCore

/// Fetch (key 1): record batches from partitions, starting at given offsets.
///
/// Versions 4–11, all classic: Kafka 4 removed v0–v3, v12 is flexible and v13 names topics by id.
/// No fetch sessions (session id 0, epoch -1: every request is a full one), which every broker accepts.
struct FetchRequest: KafkaRequest, Hashable {
    typealias Response = FetchResponse

    static let apiKey = KafkaAPIKey.fetch
    static let supportedVersions: ClosedRange<Int16> = 4...11
    static let firstFlexibleVersion: Int16? = nil

    struct Partition: Sendable, Hashable {
        var partition: Int32
        var fetchOffset: Int64
        /// -1: the leader does not check the epoch (v9+).
        var currentLeaderEpoch: Int32 = -1
        /// Only followers send one; consumers send -1 (v5+).
        var logStartOffset: Int64 = -1
        var partitionMaxBytes: Int32
    }

    struct Topic: Sendable, Hashable {
        var topic: String
        var partitions: [Partition]
    }

    var maxWaitMs: Int32
    var minBytes: Int32
    var maxBytes: Int32
    /// 0: read uncommitted; 1: read committed (records of open or aborted transactions are withheld or marked).
    var isolationLevel: Int8 = 0
    var topics: [Topic]

    func encode(into buffer: inout ByteBuffer, version: Int16) throws {
        buffer.writeKafkaInt32(-1)  // replica_id: a consumer
        buffer.writeKafkaInt32(self.maxWaitMs)
        buffer.writeKafkaInt32(self.minBytes)
        buffer.writeKafkaInt32(self.maxBytes)
        buffer.writeKafkaInt8(self.isolationLevel)
        if version >= 7 {
            buffer.writeKafkaInt32(0)  // session_id
            buffer.writeKafkaInt32(-1)  // session_epoch: a full fetch, no session created
        }
        try buffer.writeKafkaArray(self.topics) { buffer, topic in
            try buffer.writeKafkaString(topic.topic)
            try buffer.writeKafkaArray(topic.partitions) { buffer, partition in
                buffer.writeKafkaInt32(partition.partition)
                if version >= 9 { buffer.writeKafkaInt32(partition.currentLeaderEpoch) }
                buffer.writeKafkaInt64(partition.fetchOffset)
                if version >= 5 { buffer.writeKafkaInt64(partition.logStartOffset) }
                buffer.writeKafkaInt32(partition.partitionMaxBytes)
            }
        }
        if version >= 7 {
            buffer.writeKafkaInt32(0)  // forgotten_topics_data: none
        }
        if version >= 11 {
            try buffer.writeKafkaString("")  // rack_id
        }
    }

    static func decodeResponse(_ body: inout ByteBuffer, version: Int16) throws -> FetchResponse {
        var reader = KafkaBodyReader(body, flexible: false, message: "\(Self.name(version)) response")
        let throttleTime = try reader.int32("throttle_time_ms")
        let errorCode = version >= 7 ? try reader.errorCode() : .none
        if version >= 7 {
            _ = try reader.int32("session_id")
        }
        let topics = try reader.array("responses") { reader in
            let topic = try reader.string("topic")
            let partitions = try reader.array("partitions") { reader in
                let index = try reader.int32("partition_index")
                let errorCode = try reader.errorCode()
                let highWatermark = try reader.int64("high_watermark")
                let lastStableOffset = try reader.int64("last_stable_offset")
                let logStartOffset = version >= 5 ? try reader.int64("log_start_offset") : -1
                let aborted =
                    try reader.nullableArray("aborted_transactions") { reader in
                        FetchResponse.AbortedTransaction(
                            producerID: try reader.int64("producer_id"),
                            firstOffset: try reader.int64("first_offset")
                        )
                    } ?? []
                let preferredReadReplica = version >= 11 ? try reader.int32("preferred_read_replica") : -1
                let records = try reader.nullableBytes("records") ?? ByteBuffer()
                return FetchResponse.Partition(
                    partitionIndex: index,
                    errorCode: errorCode,
                    highWatermark: highWatermark,
                    lastStableOffset: lastStableOffset,
                    logStartOffset: logStartOffset,
                    abortedTransactions: aborted,
                    preferredReadReplica: preferredReadReplica,
                    records: records
                )
            }
            return FetchResponse.Topic(topic: topic, partitions: partitions)
        }
        try reader.finish()
        return FetchResponse(throttleTimeMs: throttleTime, errorCode: errorCode, topics: topics)
    }
}
