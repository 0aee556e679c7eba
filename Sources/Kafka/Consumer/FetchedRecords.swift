import NIOCore

/// The records of one partition in a Fetch response, ready to hand to the application, and where to fetch next.
struct FetchedRecords: Sendable, Hashable {
    var records: [KafkaConsumerRecord]
    /// The offset after the last whole batch read (control and aborted batches included), or the fetch offset
    /// when no whole batch arrived.
    var nextOffset: Int64

    init(records: [KafkaConsumerRecord], nextOffset: Int64) {
        self.records = records
        self.nextOffset = nextOffset
    }

    /// Decodes `partition`'s batches.
    ///
    /// The broker may cut the last batch off at the size limit: that partial batch is left for the next fetch.
    /// Control batches (transaction markers) and records below `fetchOffset` (a batch starts before it) are
    /// skipped; with `readCommitted`, so are the batches of aborted transactions.
    /// - Throws: `.corruptRecord`, or `.unsupportedCompression` for a compressed batch (no codec is available).
    init(_ partition: FetchResponse.Partition, topic: String, fetchOffset: Int64, readCommitted: Bool) throws {
        var buffer = partition.records
        var records: [KafkaConsumerRecord] = []
        var nextOffset = fetchOffset
        var aborted = partition.abortedTransactions.sorted { $0.firstOffset < $1.firstOffset }[...]
        var abortedProducers: Set<Int64> = []
        while let batch = try buffer.readRecordBatch() {
            let lastOffset = batch.baseOffset + Int64(batch.lastOffsetDelta)
            nextOffset = max(nextOffset, lastOffset + 1)
            if readCommitted && batch.attributes.isTransactional {
                // As the Java client: a producer's transaction is aborted from its first offset to its abort marker.
                while let first = aborted.first, first.firstOffset <= lastOffset {
                    abortedProducers.insert(first.producerID)
                    aborted.removeFirst()
                }
                if batch.attributes.isControl {
                    if batch.isAbortMarker { abortedProducers.remove(batch.producerID) }
                } else if abortedProducers.contains(batch.producerID) {
                    continue
                }
            }
            guard !batch.attributes.isControl else { continue }
            for record in batch.records {
                let offset = batch.baseOffset + Int64(record.offsetDelta)
                guard offset >= fetchOffset else { continue }
                records.append(
                    KafkaConsumerRecord(
                        topic: topic,
                        partition: partition.partitionIndex,
                        offset: offset,
                        key: record.key.map { Array($0.readableBytesView) },
                        value: record.value.map { Array($0.readableBytesView) },
                        headers: record.headers,
                        timestamp: batch.attributes.timestampType == .logAppendTime
                            ? batch.maxTimestamp : batch.baseTimestamp &+ record.timestampDelta
                    )
                )
            }
        }
        self.records = records
        self.nextOffset = nextOffset
    }
}

extension RecordBatch {
    /// A control batch's record key is version INT16, type INT16: 0 aborts the transaction, 1 commits it.
    var isAbortMarker: Bool {
        guard var key = self.records.first?.key, key.readKafkaInt16() != nil else { return false }
        return key.readKafkaInt16() == 0
    }
}
