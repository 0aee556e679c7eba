import NIOCore

/// Produce (key 0): record batches for partitions of topics.
///
/// Versions 7–9 (flexible from 9). Only acks -1 (all in-sync replicas) and 1 (the leader) are sent:
/// with acks 0 the broker sends no response, which the connection's request/response matching does not expect.
struct ProduceRequest: KafkaRequest {
    typealias Response = ProduceResponse

    static let apiKey = KafkaAPIKey.produce
    static let supportedVersions: ClosedRange<Int16> = 7...9
    static let firstFlexibleVersion: Int16? = 9

    struct PartitionData: Sendable, Hashable {
        var index: Int32
        /// Encoded record batches (see `writeRecordBatch`).
        var records: ByteBuffer

        init(index: Int32, records: ByteBuffer) {
            self.index = index
            self.records = records
        }

        /// One partition's data holding `batch`.
        init(index: Int32, batch: RecordBatch) throws {
            var records = ByteBuffer()
            try records.writeRecordBatch(batch)
            self.init(index: index, records: records)
        }
    }

    struct TopicData: Sendable, Hashable {
        var name: String
        var partitions: [PartitionData]
    }

    var transactionalID: String?
    /// -1: every in-sync replica has the records; 1: the leader has them.
    var acks: Int16 = -1
    /// How long the broker may wait for the replicas.
    var timeoutMs: Int32 = 30_000
    var topics: [TopicData]

    func encode(into buffer: inout ByteBuffer, version: Int16) throws {
        guard self.acks == -1 || self.acks == 1 else {
            throw KafkaError(.invalidArgument, message: "acks must be -1 or 1, not \(self.acks) (acks 0 gets no response)")
        }
        let flexible = Self.isFlexible(version)
        try buffer.writeKafkaNullableString(self.transactionalID, flexible: flexible)
        buffer.writeKafkaInt16(self.acks)
        buffer.writeKafkaInt32(self.timeoutMs)
        try buffer.writeKafkaArray(self.topics, flexible: flexible) { buffer, topic in
            try buffer.writeKafkaString(topic.name, flexible: flexible)
            try buffer.writeKafkaArray(topic.partitions, flexible: flexible) { buffer, partition in
                buffer.writeKafkaInt32(partition.index)
                if flexible {
                    try buffer.writeKafkaCompactBytes(partition.records)
                } else {
                    try buffer.writeKafkaBytes(partition.records)
                }
                buffer.writeKafkaTaggedFields(flexible: flexible)
            }
            buffer.writeKafkaTaggedFields(flexible: flexible)
        }
        buffer.writeKafkaTaggedFields(flexible: flexible)
    }

    static func decodeResponse(_ body: inout ByteBuffer, version: Int16) throws -> ProduceResponse {
        var reader = KafkaBodyReader(body, flexible: Self.isFlexible(version), message: "\(Self.name(version)) response")
        let topics = try reader.array("responses") { reader in
            let name = try reader.string("name")
            let partitions = try reader.array("partition_responses") { reader in
                let index = try reader.int32("index")
                let errorCode = try reader.errorCode()
                let baseOffset = try reader.int64("base_offset")
                let logAppendTime = try reader.int64("log_append_time_ms")
                let logStartOffset = try reader.int64("log_start_offset")
                var recordErrors: [ProduceResponse.RecordError] = []
                var errorMessage: String?
                if version >= 8 {
                    recordErrors = try reader.array("record_errors") { reader in
                        let recordError = ProduceResponse.RecordError(
                            batchIndex: try reader.int32("batch_index"),
                            message: try reader.nullableString("batch_index_error_message")
                        )
                        try reader.taggedFields()
                        return recordError
                    }
                    errorMessage = try reader.nullableString("error_message")
                }
                try reader.taggedFields()
                return ProduceResponse.Partition(
                    index: index,
                    errorCode: errorCode,
                    baseOffset: baseOffset,
                    logAppendTimeMs: logAppendTime,
                    logStartOffset: logStartOffset,
                    recordErrors: recordErrors,
                    errorMessage: errorMessage
                )
            }
            try reader.taggedFields()
            return ProduceResponse.Topic(name: name, partitions: partitions)
        }
        let throttleTime = try reader.int32("throttle_time_ms")
        try reader.taggedFields()
        try reader.finish()
        return ProduceResponse(topics: topics, throttleTimeMs: throttleTime)
    }
}
