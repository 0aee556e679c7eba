import NIOCore
import Testing

@testable import Kafka

private func partitions(_ topic: String, _ indexes: Int32...) -> [TopicPartition] {
    indexes.map { TopicPartition(topic: topic, partition: $0) }
}

@Suite struct ConsumerProtocolTests {
    // MARK: Subscription and assignment

    @Test func subscriptionBytesAndRoundTrip() throws {
        let subscription = ConsumerProtocolSubscription(topics: ["t", "u"])
        let bytes = try subscription.encoded()
        #expect(Array(bytes.readableBytesView) == hex("00 00  00 00 00 02 00 01 74 00 01 75  ff ff ff ff"))
        #expect(try ConsumerProtocolSubscription(decoding: bytes) == subscription)
    }

    @Test func newerSubscriptionsAreReadByTheirFirstFields() throws {
        // Version 1 (as librdkafka sends, with owned partitions), then version 0 ending after the topics.
        let v1 = try ConsumerProtocolSubscription(
            decoding: ByteBuffer(bytes: hex("00 01  00 00 00 01 00 01 74  00 00 00 01 aa  00 00 00 01 00 01 74 00 00 00 01 00 00 00 00"))
        )
        #expect(v1 == ConsumerProtocolSubscription(version: 1, topics: ["t"], userData: ByteBuffer(bytes: [0xaa])))
        let short = try ConsumerProtocolSubscription(decoding: ByteBuffer(bytes: hex("00 00  00 00 00 01 00 01 74")))
        #expect(short.topics == ["t"])
        let error = #expect(throws: KafkaError.self) {
            try ConsumerProtocolSubscription(decoding: ByteBuffer(bytes: hex("00 00  00 00 00 01 00 05")))
        }
        #expect(error?.message == "consumer protocol subscription, field topics: is truncated")
    }

    @Test func assignmentBytesAndRoundTrip() throws {
        let assignment = ConsumerProtocolAssignment(partitions: partitions("u", 1) + partitions("t", 2, 0))
        let bytes = try assignment.encoded()
        #expect(
            Array(bytes.readableBytesView)
                == hex("00 00  00 00 00 02  00 01 74 00 00 00 02 00 00 00 00 00 00 00 02  00 01 75 00 00 00 01 00 00 00 01  ff ff ff ff")
        )
        let decoded = try ConsumerProtocolAssignment(decoding: bytes)
        #expect(decoded.partitions == partitions("t", 0, 2) + partitions("u", 1))
        #expect(try ConsumerProtocolAssignment(decoding: ByteBuffer()).partitions.isEmpty)
    }

    // MARK: Range assignor

    @Test func rangeGivesTheFirstMembersTheExtraPartitions() {
        // Members are sorted by id, not taken in the order given.
        let assignment = KafkaRangeAssignor.assign(subscriptions: ["c2": ["t"], "c0": ["t"], "c1": ["t"]], partitionCounts: ["t": 7])
        #expect(assignment["c0"] == partitions("t", 0, 1, 2))
        #expect(assignment["c1"] == partitions("t", 3, 4))
        #expect(assignment["c2"] == partitions("t", 5, 6))
    }

    @Test func rangeSplitsEachTopicOnItsOwn() {
        // The Java client's documented example: two topics of three partitions, two members.
        let assignment = KafkaRangeAssignor.assign(subscriptions: ["c0": ["t0", "t1"], "c1": ["t0", "t1"]], partitionCounts: ["t0": 3, "t1": 3])
        #expect(assignment["c0"] == partitions("t0", 0, 1) + partitions("t1", 0, 1))
        #expect(assignment["c1"] == partitions("t0", 2) + partitions("t1", 2))
    }

    @Test func rangeWithMoreMembersThanPartitionsAndMixedSubscriptions() {
        let assignment = KafkaRangeAssignor.assign(
            subscriptions: ["a": ["t"], "b": ["t", "u"], "c": ["t", "missing"]],
            partitionCounts: ["t": 2, "u": 2]
        )
        #expect(assignment["a"] == partitions("t", 0))
        #expect(assignment["b"] == partitions("t", 1) + partitions("u", 0, 1))
        #expect(assignment["c"] == [])
        // Every partition goes to exactly one member.
        let all = assignment.values.flatMap { $0 }
        #expect(all.count == Set(all).count)
        #expect(all.count == 4)
    }

    // MARK: Fetched records

    private static func batch(
        baseOffset: Int64,
        values: [String],
        attributes: RecordBatchAttributes = RecordBatchAttributes(),
        producerID: Int64 = -1
    ) throws -> ByteBuffer {
        var batch = try RecordBatch(
            producing: values.enumerated().map { index, value in
                (key: nil, value: ByteBuffer(string: value), headers: [], timestamp: 100 + Int64(index))
            },
            producerID: producerID
        )
        batch.baseOffset = baseOffset
        batch.attributes = attributes
        var buffer = ByteBuffer()
        try buffer.writeRecordBatch(batch)
        return buffer
    }

    private static func partition(_ batches: [ByteBuffer], aborted: [FetchResponse.AbortedTransaction] = []) -> FetchResponse.Partition {
        var records = ByteBuffer()
        for batch in batches { records.writeImmutableBuffer(batch) }
        return FetchResponse.Partition(
            partitionIndex: 1,
            errorCode: .none,
            highWatermark: 100,
            lastStableOffset: 100,
            logStartOffset: 0,
            abortedTransactions: aborted,
            preferredReadReplica: -1,
            records: records
        )
    }

    @Test func severalBatchesAndATruncatedOneDecode() throws {
        var third = try Self.batch(baseOffset: 5, values: ["f"])
        third.moveWriterIndex(to: third.writerIndex - 3)
        let partition = Self.partition([
            try Self.batch(baseOffset: 0, values: ["a", "b", "c"]), try Self.batch(baseOffset: 3, values: ["d", "e"]), third,
        ])
        // Offset 1 was asked for: the first batch's record 0 is below it.
        let fetched = try FetchedRecords(partition, topic: "t", fetchOffset: 1, readCommitted: false)
        #expect(fetched.records.map(\.offset) == [1, 2, 3, 4])
        #expect(fetched.records.map { $0.value.map { String(decoding: $0, as: UTF8.self) } } == ["b", "c", "d", "e"])
        #expect(fetched.records.first?.partition == 1)
        #expect(fetched.records.first?.topic == "t")
        #expect(fetched.records.first?.timestamp == 101)
        #expect(fetched.records.first?.key == nil)
        #expect(fetched.nextOffset == 5)
        // Nothing whole arrived: fetch the same offset again.
        let nothing = try FetchedRecords(Self.partition([third]), topic: "t", fetchOffset: 5, readCommitted: false)
        #expect(nothing.records.isEmpty)
        #expect(nothing.nextOffset == 5)
    }

    @Test func controlBatchesAndAbortedTransactionsAreSkipped() throws {
        let transactional = RecordBatchAttributes(isTransactional: true)
        let marker = RecordBatchAttributes(isTransactional: true, isControl: true)
        var abortKey = ByteBuffer()
        abortKey.writeKafkaInt16(0)
        abortKey.writeKafkaInt16(0)
        var abortMarker = RecordBatch(
            baseOffset: 2,
            attributes: marker,
            lastOffsetDelta: 0,
            baseTimestamp: 0,
            maxTimestamp: 0,
            producerID: 7,
            records: [KafkaRecord(offsetDelta: 0, key: abortKey, value: ByteBuffer(bytes: [0, 0, 0, 0, 0, 0]))]
        )
        var abortBytes = ByteBuffer()
        try abortBytes.writeRecordBatch(abortMarker)
        abortMarker.baseOffset = 5
        abortMarker.producerID = 8
        var commitKey = ByteBuffer()
        commitKey.writeKafkaInt16(0)
        commitKey.writeKafkaInt16(1)
        abortMarker.records = [KafkaRecord(offsetDelta: 0, key: commitKey, value: nil)]
        var commitBytes = ByteBuffer()
        try commitBytes.writeRecordBatch(abortMarker)
        let partition = Self.partition(
            [
                try Self.batch(baseOffset: 0, values: ["aborted", "aborted"], attributes: transactional, producerID: 7),
                abortBytes,
                try Self.batch(baseOffset: 3, values: ["committed", "committed"], attributes: transactional, producerID: 8),
                commitBytes,
                try Self.batch(baseOffset: 6, values: ["plain"]),
            ],
            aborted: [FetchResponse.AbortedTransaction(producerID: 7, firstOffset: 0)]
        )
        let committed = try FetchedRecords(partition, topic: "t", fetchOffset: 0, readCommitted: true)
        #expect(committed.records.map(\.offset) == [3, 4, 6])
        #expect(committed.nextOffset == 7)
        let uncommitted = try FetchedRecords(partition, topic: "t", fetchOffset: 0, readCommitted: false)
        #expect(uncommitted.records.map(\.offset) == [0, 1, 3, 4, 6])
    }

    @Test func compressedBatchesAreRefusedClearly() throws {
        var bytes = try Self.batch(baseOffset: 0, values: ["a"])
        bytes.setInteger(Int16(1), at: 21, endianness: .big)
        let covered = bytes.getSlice(at: 21, length: bytes.readableBytes - 21) ?? ByteBuffer()
        bytes.setInteger(CRC32C.checksum(covered), at: 17, endianness: .big)
        let error = #expect(throws: KafkaError.self) { try FetchedRecords(Self.partition([bytes]), topic: "t", fetchOffset: 0, readCommitted: false) }
        #expect(error?.code == .unsupportedCompression)
    }
}
