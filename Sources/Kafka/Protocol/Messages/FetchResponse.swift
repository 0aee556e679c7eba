import NIOCore

/// The records of each partition asked for, or why not.
struct FetchResponse: Sendable, Hashable {
    struct AbortedTransaction: Sendable, Hashable {
        var producerID: Int64
        var firstOffset: Int64
    }

    struct Partition: Sendable, Hashable {
        var partitionIndex: Int32
        var errorCode: KafkaErrorCode
        /// The offset after the last record every in-sync replica has.
        var highWatermark: Int64
        var lastStableOffset: Int64
        var logStartOffset: Int64
        var abortedTransactions: [AbortedTransaction]
        var preferredReadReplica: Int32
        /// Record batches as they are in the log; the last one may be cut off (see `FetchedRecords`).
        var records: ByteBuffer
    }

    struct Topic: Sendable, Hashable {
        var topic: String
        var partitions: [Partition]
    }

    var throttleTimeMs: Int32
    /// A whole-request error (v7+; fetch sessions); `.none` otherwise.
    var errorCode: KafkaErrorCode
    var topics: [Topic]
}
