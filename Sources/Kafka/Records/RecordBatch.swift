import NIOCore

/// A v2 record batch (magic 2), the unit in which Produce sends records and Fetch returns them.
///
/// Layout (https://kafka.apache.org/documentation/#recordbatch): baseOffset INT64, batchLength INT32,
/// partitionLeaderEpoch INT32, magic INT8, crc UINT32, attributes INT16, lastOffsetDelta INT32,
/// baseTimestamp INT64, maxTimestamp INT64, producerId INT64, producerEpoch INT16, baseSequence INT32,
/// then an INT32 count of records. The CRC-32C covers everything from attributes to the end.
struct RecordBatch: Sendable, Hashable {
    static let magic: Int8 = 2
    /// baseOffset and batchLength, which batchLength does not count.
    static let logOverhead = 12
    /// The bytes batchLength counts in a batch without records: partitionLeaderEpoch through the records count.
    static let minimumBatchLength: Int32 = 49

    var baseOffset: Int64 = 0
    var partitionLeaderEpoch: Int32 = -1
    var attributes: RecordBatchAttributes
    var lastOffsetDelta: Int32
    var baseTimestamp: Int64
    var maxTimestamp: Int64
    /// -1 when the producer is neither idempotent nor transactional.
    var producerID: Int64 = -1
    var producerEpoch: Int16 = -1
    var baseSequence: Int32 = -1
    var records: [KafkaRecord]

    init(
        baseOffset: Int64 = 0,
        partitionLeaderEpoch: Int32 = -1,
        attributes: RecordBatchAttributes = RecordBatchAttributes(),
        lastOffsetDelta: Int32,
        baseTimestamp: Int64,
        maxTimestamp: Int64,
        producerID: Int64 = -1,
        producerEpoch: Int16 = -1,
        baseSequence: Int32 = -1,
        records: [KafkaRecord]
    ) {
        self.baseOffset = baseOffset
        self.partitionLeaderEpoch = partitionLeaderEpoch
        self.attributes = attributes
        self.lastOffsetDelta = lastOffsetDelta
        self.baseTimestamp = baseTimestamp
        self.maxTimestamp = maxTimestamp
        self.producerID = producerID
        self.producerEpoch = producerEpoch
        self.baseSequence = baseSequence
        self.records = records
    }

    /// A batch to produce: `records` get offset deltas 0, 1, 2, … and timestamp deltas from `baseTimestamp`.
    ///
    /// - Parameter records: each record's key, value, headers and timestamp (milliseconds since the epoch).
    /// - Throws: `.invalidArgument` for a negative timestamp (which also keeps every delta from overflowing).
    init(
        producing records: [(key: ByteBuffer?, value: ByteBuffer?, headers: [KafkaRecordHeader], timestamp: Int64)],
        producerID: Int64 = -1,
        producerEpoch: Int16 = -1,
        baseSequence: Int32 = -1
    ) throws {
        if let negative = records.first(where: { $0.timestamp < 0 }) {
            throw KafkaError(.invalidArgument, message: "record timestamp \(negative.timestamp) is before the epoch")
        }
        // The earliest timestamp is the base, so every delta is non-negative (as the Java client does).
        let baseTimestamp = records.lazy.map(\.timestamp).min() ?? 0
        let batchRecords = records.enumerated().map { index, record in
            KafkaRecord(
                offsetDelta: Int32(truncatingIfNeeded: index),
                timestampDelta: record.timestamp - baseTimestamp,
                key: record.key,
                value: record.value,
                headers: record.headers
            )
        }
        self.init(
            lastOffsetDelta: Int32(truncatingIfNeeded: max(records.count - 1, 0)),
            baseTimestamp: baseTimestamp,
            maxTimestamp: records.lazy.map(\.timestamp).max() ?? baseTimestamp,
            producerID: producerID,
            producerEpoch: producerEpoch,
            baseSequence: baseSequence,
            records: batchRecords
        )
    }
}

// MARK: Wire format

extension ByteBuffer {
    /// Writes `batch` uncompressed, with its batchLength and CRC-32C filled in.
    ///
    /// - Throws: `.unsupportedCompression` when the attributes name a codec (only `none` is written),
    ///   `.invalidArgument` when a record is too large for the format.
    mutating func writeRecordBatch(_ batch: RecordBatch) throws {
        guard batch.attributes.compression == KafkaCompression.none else {
            throw KafkaError(
                .unsupportedCompression,
                message: "unsupported compression codec \(batch.attributes.compression?.description ?? "unknown") for writing"
            )
        }
        guard batch.records.count <= Int(Int32.max) else {
            throw KafkaError(.invalidArgument, message: "a record batch holds at most \(Int32.max) records")
        }
        let start = self.writerIndex
        self.writeKafkaInt64(batch.baseOffset)
        let lengthIndex = self.writerIndex
        self.writeKafkaInt32(0)  // batchLength, set below
        self.writeKafkaInt32(batch.partitionLeaderEpoch)
        self.writeKafkaInt8(RecordBatch.magic)
        let crcIndex = self.writerIndex
        self.writeKafkaUInt32(0)  // crc, set below
        let attributesIndex = self.writerIndex
        self.writeKafkaInt16(batch.attributes.rawValue)
        self.writeKafkaInt32(batch.lastOffsetDelta)
        self.writeKafkaInt64(batch.baseTimestamp)
        self.writeKafkaInt64(batch.maxTimestamp)
        self.writeKafkaInt64(batch.producerID)
        self.writeKafkaInt16(batch.producerEpoch)
        self.writeKafkaInt32(batch.baseSequence)
        self.writeKafkaInt32(Int32(batch.records.count))
        do {
            for record in batch.records {
                try self.writeKafkaRecord(record)
            }
        } catch {
            self.moveWriterIndex(to: start)
            throw error
        }
        let batchLength = self.writerIndex - lengthIndex - 4
        guard batchLength <= Int(Int32.max) else {
            self.moveWriterIndex(to: start)
            throw KafkaError(.invalidArgument, message: "a record batch of \(batchLength) bytes is too large")
        }
        self.setInteger(Int32(batchLength), at: lengthIndex, endianness: .big)
        let covered = self.getSlice(at: attributesIndex, length: self.writerIndex - attributesIndex) ?? ByteBuffer()
        self.setInteger(CRC32C.checksum(covered), at: crcIndex, endianness: .big)
    }

    /// Reads one record batch.
    ///
    /// Returns nil, leaving the reader index in place, while the batch has not fully arrived (a Fetch response
    /// may end in a partial batch). Throws `.corruptRecord` on a CRC mismatch or an inconsistent layout,
    /// `.protocolError` for a magic other than 2, and `.unsupportedCompression` for a compressed batch.
    mutating func readRecordBatch() throws -> RecordBatch? {
        guard
            let baseOffset = self.getInteger(at: self.readerIndex, endianness: .big, as: Int64.self),
            let batchLength = self.getInteger(at: self.readerIndex + 8, endianness: .big, as: Int32.self)
        else { return nil }
        guard batchLength >= RecordBatch.minimumBatchLength else {
            throw KafkaError(
                .corruptRecord,
                message: "record batch at offset \(baseOffset) has batchLength \(batchLength), less than its header"
            )
        }
        guard var batch = self.getSlice(at: self.readerIndex, length: RecordBatch.logOverhead + Int(batchLength)) else {
            return nil
        }
        let decoded = try Self.decodeRecordBatch(&batch, baseOffset: baseOffset)
        self.moveReaderIndex(forwardBy: RecordBatch.logOverhead + Int(batchLength))
        return decoded
    }

    /// Decodes a batch whose bytes are exactly `batch`.
    private static func decodeRecordBatch(_ batch: inout ByteBuffer, baseOffset: Int64) throws -> RecordBatch {
        func truncated(_ field: String) -> KafkaError {
            KafkaError(.corruptRecord, message: "record batch at offset \(baseOffset) truncated in \(field)")
        }
        batch.moveReaderIndex(forwardBy: RecordBatch.logOverhead)
        let partitionLeaderEpoch = try batch.readKafkaInt32().unwrap(or: truncated("partitionLeaderEpoch"))
        let magic = try batch.readKafkaInt8().unwrap(or: truncated("magic"))
        guard magic == RecordBatch.magic else {
            throw KafkaError(.protocolError, message: "record batch at offset \(baseOffset) has magic \(magic); only magic 2 is supported")
        }
        let crc = try batch.readKafkaUInt32().unwrap(or: truncated("crc"))
        let computed = CRC32C.checksum(batch)
        guard computed == crc else {
            throw KafkaError(
                .corruptRecord,
                message: "record batch at offset \(baseOffset) fails its CRC-32C check: it says \(hex(crc)), its bytes give \(hex(computed))"
            )
        }
        let attributes = RecordBatchAttributes(rawValue: try batch.readKafkaInt16().unwrap(or: truncated("attributes")))
        let lastOffsetDelta = try batch.readKafkaInt32().unwrap(or: truncated("lastOffsetDelta"))
        let baseTimestamp = try batch.readKafkaInt64().unwrap(or: truncated("baseTimestamp"))
        let maxTimestamp = try batch.readKafkaInt64().unwrap(or: truncated("maxTimestamp"))
        let producerID = try batch.readKafkaInt64().unwrap(or: truncated("producerId"))
        let producerEpoch = try batch.readKafkaInt16().unwrap(or: truncated("producerEpoch"))
        let baseSequence = try batch.readKafkaInt32().unwrap(or: truncated("baseSequence"))
        let count = try batch.readKafkaInt32().unwrap(or: truncated("records count"))

        switch attributes.compression {
        case .some(.none):
            break
        case .some(let codec):
            // gzip would need zlib, which no dependency of this target provides.
            throw KafkaError(.unsupportedCompression, message: "unsupported compression codec \(codec) in record batch at offset \(baseOffset)")
        case nil:
            throw KafkaError(
                .corruptRecord,
                message: "record batch at offset \(baseOffset) names compression codec \(attributes.rawValue & 0b111), which Kafka does not define"
            )
        }
        // Every record takes at least 7 bytes, which also keeps a hostile count from reserving memory.
        guard count >= 0, Int(count) <= batch.readableBytes / 7 else {
            throw KafkaError(
                .corruptRecord,
                message: "record batch at offset \(baseOffset) declares \(count) records in \(batch.readableBytes) bytes"
            )
        }
        var records: [KafkaRecord] = []
        records.reserveCapacity(Int(count))
        for _ in 0..<count {
            records.append(try batch.readKafkaRecord())
        }
        guard batch.readableBytes == 0 else {
            throw KafkaError(.corruptRecord, message: "record batch at offset \(baseOffset) has \(batch.readableBytes) bytes after its last record")
        }
        return RecordBatch(
            baseOffset: baseOffset,
            partitionLeaderEpoch: partitionLeaderEpoch,
            attributes: attributes,
            lastOffsetDelta: lastOffsetDelta,
            baseTimestamp: baseTimestamp,
            maxTimestamp: maxTimestamp,
            producerID: producerID,
            producerEpoch: producerEpoch,
            baseSequence: baseSequence,
            records: records
        )
    }
}

private func hex(_ value: UInt32) -> String {
    let digits = String(value, radix: 16, uppercase: true)
    return "0x" + String(repeating: "0", count: 8 - digits.count) + digits
}
