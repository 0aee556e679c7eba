import NIOCore
import Testing

@testable import Kafka

/// A batch built by hand from the layout in the Kafka docs (https://kafka.apache.org/documentation/#recordbatch);
/// its CRC was computed with an independent bit-by-bit CRC-32C, not with `CRC32C`.
private let handBuiltBatch: [UInt8] = [
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05,  // baseOffset 5
    0x00, 0x00, 0x00, 0x48,  // batchLength 72
    0x00, 0x00, 0x00, 0x03,  // partitionLeaderEpoch 3
    0x02,  // magic 2
    0xc2, 0x47, 0x93, 0xf8,  // crc
    0x00, 0x00,  // attributes: no compression, create time
    0x00, 0x00, 0x00, 0x01,  // lastOffsetDelta 1
    0x00, 0x00, 0x01, 0x8b, 0xcf, 0xe5, 0x68, 0x00,  // baseTimestamp 1700000000000
    0x00, 0x00, 0x01, 0x8b, 0xcf, 0xe5, 0x68, 0x05,  // maxTimestamp 1700000000005
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x07,  // producerId 7
    0x00, 0x01,  // producerEpoch 1
    0x00, 0x00, 0x00, 0x0a,  // baseSequence 10
    0x00, 0x00, 0x00, 0x02,  // 2 records
    // length 13, attributes 0, timestampDelta 0, offsetDelta 0, key "k", value "v1", 1 header "h" = "x"
    0x1a, 0x00, 0x00, 0x00, 0x02, 0x6b, 0x04, 0x76, 0x31, 0x02, 0x02, 0x68, 0x02, 0x78,
    // length 8, attributes 0, timestampDelta 5, offsetDelta 1, key null, value "v2", no headers
    0x10, 0x00, 0x0a, 0x02, 0x01, 0x04, 0x76, 0x32, 0x00,
]

private func encoded(_ batch: RecordBatch) throws -> ByteBuffer {
    var buffer = ByteBuffer()
    try buffer.writeRecordBatch(batch)
    return buffer
}

/// `bytes` with attributes set to `attributes` and the CRC recomputed, so only the attributes are wrong.
private func withAttributes(_ attributes: Int16, _ bytes: [UInt8]) -> ByteBuffer {
    var buffer = ByteBuffer(bytes: bytes)
    buffer.setInteger(attributes, at: 21, endianness: .big)
    let covered = buffer.getSlice(at: 21, length: buffer.readableBytes - 21) ?? ByteBuffer()
    buffer.setInteger(CRC32C.checksum(covered), at: 17, endianness: .big)
    return buffer
}

private func expectRefused(_ buffer: ByteBuffer, code: KafkaError.Code, mentioning fragment: String) {
    var buffer = buffer
    let error = #expect(throws: KafkaError.self) { try buffer.readRecordBatch() }
    #expect(error?.code == code)
    #expect(error?.message.contains(fragment) == true, "\(error?.message ?? "no error") should mention \(fragment)")
}

@Suite struct RecordBatchTests {
    @Test func handBuiltBatchDecodes() throws {
        var buffer = ByteBuffer(bytes: handBuiltBatch)
        let batch = try #require(try buffer.readRecordBatch())
        #expect(buffer.readableBytes == 0)
        #expect(batch.baseOffset == 5)
        #expect(batch.partitionLeaderEpoch == 3)
        #expect(batch.attributes.compression == KafkaCompression.none)
        #expect(batch.attributes.timestampType == .createTime)
        #expect(batch.lastOffsetDelta == 1)
        #expect(batch.baseTimestamp == 1_700_000_000_000)
        #expect(batch.maxTimestamp == 1_700_000_000_005)
        #expect(batch.producerID == 7)
        #expect(batch.producerEpoch == 1)
        #expect(batch.baseSequence == 10)
        #expect(batch.records.count == 2)
        #expect(batch.records[0].key == ByteBuffer(string: "k"))
        #expect(batch.records[0].value == ByteBuffer(string: "v1"))
        #expect(batch.records[0].headers == [KafkaRecordHeader(key: "h", value: ByteBuffer(string: "x"))])
        #expect(batch.records[1].key == nil)
        #expect(batch.records[1].value == ByteBuffer(string: "v2"))
        #expect(batch.records[1].timestampDelta == 5)
        #expect(batch.records[1].offsetDelta == 1)
        // Encoding what was decoded gives the same bytes, CRC included.
        #expect(Array(try encoded(batch).readableBytesView) == handBuiltBatch)
    }

    @Test func producedBatchRoundTrips() throws {
        let large = ByteBuffer(repeating: 0x5a, count: 300)
        let batch = try RecordBatch(
            producing: [
                (key: ByteBuffer(string: "order-1"), value: large, headers: [], timestamp: 1_000),
                (key: nil, value: ByteBuffer(), headers: [KafkaRecordHeader(key: "trace", value: nil)], timestamp: 990),
                (key: ByteBuffer(string: "é"), value: nil, headers: [], timestamp: 1_020),
            ],
            producerID: 42,
            producerEpoch: 0,
            baseSequence: 0
        )
        #expect(batch.baseTimestamp == 990)
        #expect(batch.maxTimestamp == 1_020)
        #expect(batch.lastOffsetDelta == 2)
        #expect(batch.records.map(\.timestampDelta) == [10, 0, 30])
        #expect(batch.records.map(\.offsetDelta) == [0, 1, 2])

        var buffer = try encoded(batch)
        #expect(buffer.getInteger(at: 8, as: Int32.self).map(Int.init) == buffer.readableBytes - 12)
        #expect(buffer.getInteger(at: 16, as: Int8.self) == 2)
        let decoded = try buffer.readRecordBatch()
        #expect(decoded == batch)
        #expect(buffer.readableBytes == 0)
    }

    @Test func anEmptyBatchRoundTrips() throws {
        let batch = try RecordBatch(producing: [])
        var buffer = try encoded(batch)
        #expect(buffer.readableBytes == 61)
        #expect(try buffer.readRecordBatch() == batch)
    }

    @Test func incompleteBatchReadsAsNilWithoutMovingTheReaderIndex() throws {
        for length in [0, 7, 11, 12, 60, handBuiltBatch.count - 1] {
            var prefix = ByteBuffer(bytes: handBuiltBatch[0..<length])
            #expect(try prefix.readRecordBatch() == nil, "prefix of \(length) bytes")
            #expect(prefix.readerIndex == 0)
        }
        // Two batches back to back, as in a Fetch response.
        var two = ByteBuffer(bytes: handBuiltBatch + handBuiltBatch)
        #expect(try two.readRecordBatch() != nil)
        #expect(try two.readRecordBatch()?.baseOffset == 5)
        #expect(two.readableBytes == 0)
    }

    @Test func crcMismatchIsRefused() {
        var corrupted = handBuiltBatch
        corrupted[corrupted.count - 2] ^= 0x01  // "v2" becomes "v3"
        expectRefused(ByteBuffer(bytes: corrupted), code: .corruptRecord, mentioning: "fails its CRC-32C check: it says 0xC24793F8")
    }

    @Test func fieldsOutsideTheCRCAreNotCheckedByIt() throws {
        // baseOffset and partitionLeaderEpoch are outside the CRC (the broker rewrites them).
        var changed = handBuiltBatch
        changed[7] = 9
        changed[15] = 4
        var buffer = ByteBuffer(bytes: changed)
        let batch = try buffer.readRecordBatch()
        #expect(batch?.baseOffset == 9)
        #expect(batch?.partitionLeaderEpoch == 4)
    }

    @Test func compressedBatchIsRefusedByName() {
        expectRefused(withAttributes(1, handBuiltBatch), code: .unsupportedCompression, mentioning: "unsupported compression codec gzip")
        expectRefused(withAttributes(4, handBuiltBatch), code: .unsupportedCompression, mentioning: "codec zstd")
        expectRefused(withAttributes(7, handBuiltBatch), code: .corruptRecord, mentioning: "compression codec 7")
    }

    @Test func otherMagicAndBadLayoutsAreRefused() {
        var magic1 = handBuiltBatch
        magic1[16] = 1
        expectRefused(ByteBuffer(bytes: magic1), code: .protocolError, mentioning: "magic 1")

        var short = handBuiltBatch
        short[11] = 0x10  // batchLength 16 < 49
        expectRefused(ByteBuffer(bytes: short), code: .corruptRecord, mentioning: "batchLength 16")

        // Claims 3 records but holds 2 (CRC recomputed so the count is what is wrong).
        var count = handBuiltBatch
        count[60] = 3
        expectRefused(withAttributes(0, count), code: .corruptRecord, mentioning: "record length")

        // A record length that runs past the batch.
        var overrun = handBuiltBatch
        overrun[61] = 0x7e
        expectRefused(withAttributes(0, overrun), code: .corruptRecord, mentioning: "record length 63")
    }

    @Test func attributesBits() {
        let attributes = RecordBatchAttributes(rawValue: 0x3c)
        #expect(attributes.compression == .zstd)
        #expect(attributes.timestampType == .logAppendTime)
        #expect(attributes.isTransactional)
        #expect(attributes.isControl)
        #expect(!attributes.hasDeleteHorizon)
        #expect(RecordBatchAttributes(compression: .zstd, timestampType: .logAppendTime, isTransactional: true, isControl: true) == attributes)
        #expect(RecordBatchAttributes(rawValue: 0x40).hasDeleteHorizon)
    }

    @Test func negativeTimestampsAreRefused() {
        let error = #expect(throws: KafkaError.self) {
            try RecordBatch(producing: [(key: nil, value: nil, headers: [], timestamp: 5), (key: nil, value: nil, headers: [], timestamp: -2)])
        }
        #expect(error?.code == .invalidArgument)
        #expect(error?.message.contains("-2") == true)
    }

    @Test func writingACompressedBatchIsRefused() throws {
        var batch = try RecordBatch(producing: [(key: nil, value: ByteBuffer(string: "x"), headers: [], timestamp: 0)])
        batch.attributes = RecordBatchAttributes(compression: .gzip)
        var buffer = ByteBuffer()
        let error = #expect(throws: KafkaError.self) { try buffer.writeRecordBatch(batch) }
        #expect(error?.code == .unsupportedCompression)
        #expect(buffer.readableBytes == 0)
    }
}
