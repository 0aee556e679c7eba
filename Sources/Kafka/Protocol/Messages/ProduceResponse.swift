/// Where the produced batches were written, or why not, per partition.
struct ProduceResponse: Sendable, Hashable {
    struct RecordError: Sendable, Hashable {
        /// The record's position in its batch.
        var batchIndex: Int32
        var message: String?
    }

    struct Partition: Sendable, Hashable {
        var index: Int32
        var errorCode: KafkaErrorCode
        /// The offset of the first record written.
        var baseOffset: Int64
        /// -1 unless the topic uses log-append time.
        var logAppendTimeMs: Int64
        var logStartOffset: Int64
        var recordErrors: [RecordError]
        var errorMessage: String?
    }

    struct Topic: Sendable, Hashable {
        var name: String
        var partitions: [Partition]
    }

    var topics: [Topic]
    var throttleTimeMs: Int32
}
