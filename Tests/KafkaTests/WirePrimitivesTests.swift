import NIOCore
import Testing

@testable import Kafka

/// The bytes `write` puts into a fresh buffer.
private func bytes(_ write: (inout ByteBuffer) throws -> Void) rethrows -> [UInt8] {
    var buffer = ByteBuffer()
    try write(&buffer)
    return Array(buffer.readableBytesView)
}

/// Expects `read` to refuse `input` as a protocol error whose message contains `fragment`.
private func expectMalformed<T>(_ input: [UInt8], mentioning fragment: String, _ read: (inout ByteBuffer) throws -> T) {
    var buffer = ByteBuffer(bytes: input)
    let error = #expect(throws: KafkaError.self, "\(input)") { try read(&buffer) }
    #expect(error?.code == .protocolError)
    #expect(error?.message.contains(fragment) == true, "\(error?.message ?? "no error") should mention \(fragment)")
}

/// Expects every proper prefix of `input` to read as nil without moving the reader index, and the whole to read fully.
private func expectStreaming<T: Equatable>(_ input: [UInt8], equals expected: T, _ read: (inout ByteBuffer) throws -> T?) throws {
    for length in 0..<input.count {
        var prefix = ByteBuffer(bytes: input[0..<length])
        #expect(try read(&prefix) == nil, "prefix of \(length) bytes")
        #expect(prefix.readerIndex == 0, "prefix of \(length) bytes moved the reader index")
    }
    var whole = ByteBuffer(bytes: input)
    #expect(try read(&whole) == expected)
    #expect(whole.readableBytes == 0)
}

@Suite struct WirePrimitivesTests {
    @Test func fixedWidthIntegersAreBigEndian() throws {
        #expect(bytes { $0.writeKafkaInt8(-2) } == [0xfe])
        #expect(bytes { $0.writeKafkaInt16(0x0102) } == [0x01, 0x02])
        #expect(bytes { $0.writeKafkaInt32(-2) } == [0xff, 0xff, 0xff, 0xfe])
        #expect(bytes { $0.writeKafkaInt64(0x0102_0304_0506_0708) } == [1, 2, 3, 4, 5, 6, 7, 8])
        var buffer = ByteBuffer(bytes: [0x80, 0x00, 0x00, 0x00, 0x01])
        #expect(buffer.readKafkaInt32() == Int32.min)
        #expect(buffer.readKafkaInt16() == nil)
        #expect(buffer.readKafkaBoolean() == true)
    }

    static let unsignedVarints: [(UInt32, [UInt8])] = [
        (0, [0x00]),
        (1, [0x01]),
        (127, [0x7f]),
        (128, [0x80, 0x01]),
        (300, [0xac, 0x02]),
        (16384, [0x80, 0x80, 0x01]),
        (UInt32.max, [0xff, 0xff, 0xff, 0xff, 0x0f]),
    ]

    @Test(arguments: Self.unsignedVarints)
    func unsignedVarint(value: UInt32, encoded: [UInt8]) throws {
        #expect(bytes { $0.writeKafkaUnsignedVarint(value) } == encoded)
        try expectStreaming(encoded, equals: value) { try $0.readKafkaUnsignedVarint() }
    }

    static let varints: [(Int32, [UInt8])] = [
        (0, [0x00]),
        (-1, [0x01]),
        (1, [0x02]),
        (-2, [0x03]),
        (63, [0x7e]),
        (-64, [0x7f]),
        (64, [0x80, 0x01]),
        (Int32.max, [0xfe, 0xff, 0xff, 0xff, 0x0f]),
        (Int32.min, [0xff, 0xff, 0xff, 0xff, 0x0f]),
    ]

    @Test(arguments: Self.varints)
    func zigzagVarint(value: Int32, encoded: [UInt8]) throws {
        #expect(bytes { $0.writeKafkaVarint(value) } == encoded)
        #expect(ByteBuffer.kafkaVarintSize(value) == encoded.count)
        try expectStreaming(encoded, equals: value) { try $0.readKafkaVarint() }
    }

    static let varlongs: [(Int64, [UInt8])] = [
        (0, [0x00]),
        (-1, [0x01]),
        (150, [0xac, 0x02]),
        (Int64.max, [0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]),
        (Int64.min, [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]),
    ]

    @Test(arguments: Self.varlongs)
    func zigzagVarlong(value: Int64, encoded: [UInt8]) throws {
        #expect(bytes { $0.writeKafkaVarlong(value) } == encoded)
        try expectStreaming(encoded, equals: value) { try $0.readKafkaVarlong() }
    }

    @Test func malformedVarintsAreRefused() {
        expectMalformed([0x80, 0x80, 0x80, 0x80, 0x80, 0x01], mentioning: "longer than 5 bytes") { try $0.readKafkaUnsignedVarint() }
        expectMalformed([0xff, 0xff, 0xff, 0xff, 0x1f], mentioning: "does not fit in 32 bits") { try $0.readKafkaVarint() }
        expectMalformed(Array(repeating: 0xff, count: 9) + [0x02], mentioning: "overflows 64 bits") { try $0.readKafkaVarlong() }
        expectMalformed(Array(repeating: 0x80, count: 10) + [0x00], mentioning: "longer than 10 bytes") { try $0.readKafkaVarlong() }
    }

    @Test func strings() throws {
        #expect(try bytes { try $0.writeKafkaString("hi") } == [0x00, 0x02, 0x68, 0x69])
        #expect(try bytes { try $0.writeKafkaNullableString(nil) } == [0xff, 0xff])
        #expect(try bytes { try $0.writeKafkaCompactString("hi") } == [0x03, 0x68, 0x69])
        #expect(try bytes { try $0.writeKafkaCompactNullableString(nil) } == [0x00])
        #expect(try bytes { try $0.writeKafkaCompactString("") } == [0x01])

        try expectStreaming([0x00, 0x03, 0xc3, 0xa9, 0x21], equals: "é!") { try $0.readKafkaString() }
        try expectStreaming([0x00, 0x01, 0x41], equals: "A" as String?) { try $0.readKafkaNullableString() }
        try expectStreaming([0xff, 0xff], equals: nil as String?) { try $0.readKafkaNullableString() }
        try expectStreaming([0x03, 0x68, 0x69], equals: "hi") { try $0.readKafkaCompactString() }
        try expectStreaming([0x00], equals: nil as String?) { try $0.readKafkaCompactNullableString() }
    }

    @Test func malformedStringsAreRefused() {
        expectMalformed([0xff, 0xff], mentioning: "not nullable") { try $0.readKafkaString() }
        expectMalformed([0xff, 0xfe, 0x00], mentioning: "length -2") { try $0.readKafkaNullableString() }
        expectMalformed([0x00, 0x02, 0xc3, 0x28], mentioning: "not valid UTF-8") { try $0.readKafkaString() }
        expectMalformed([0x00], mentioning: "COMPACT_STRING is null") { try $0.readKafkaCompactString() }
        expectMalformed([0xff, 0xff, 0xff, 0xff], mentioning: "BYTES is null") { try $0.readKafkaBytes() }
        expectMalformed([0xff, 0xff, 0xff, 0xf0], mentioning: "BYTES has length -16") { try $0.readKafkaNullableBytes() }
    }

    @Test func tooLongStringIsAnInvalidArgument() {
        var buffer = ByteBuffer()
        let error = #expect(throws: KafkaError.self) { try buffer.writeKafkaString(String(repeating: "x", count: 40_000)) }
        #expect(error?.code == .invalidArgument)
        #expect(buffer.readableBytes == 0)
    }

    @Test func bytesAndCompactBytes() throws {
        let payload = ByteBuffer(bytes: [1, 2, 3])
        #expect(try bytes { try $0.writeKafkaBytes(payload) } == [0, 0, 0, 3, 1, 2, 3])
        #expect(try bytes { try $0.writeKafkaBytes(nil) } == [0xff, 0xff, 0xff, 0xff])
        #expect(try bytes { try $0.writeKafkaCompactBytes(payload) } == [4, 1, 2, 3])
        #expect(try bytes { try $0.writeKafkaCompactBytes(nil) } == [0])
        try expectStreaming([0, 0, 0, 3, 1, 2, 3], equals: payload) { try $0.readKafkaBytes() }
        try expectStreaming([4, 1, 2, 3], equals: payload) { try $0.readKafkaCompactBytes() }
        try expectStreaming([0], equals: nil as ByteBuffer?) { try $0.readKafkaCompactNullableBytes() }
    }

    @Test func arrays() throws {
        let values: [Int16] = [1, -1, 256]
        let classic = try bytes { try $0.writeKafkaArray(values) { $0.writeKafkaInt16($1) } }
        #expect(classic == [0, 0, 0, 3, 0x00, 0x01, 0xff, 0xff, 0x01, 0x00])
        let compact = try bytes { try $0.writeKafkaCompactArray(values) { $0.writeKafkaInt16($1) } }
        #expect(compact == [4, 0x00, 0x01, 0xff, 0xff, 0x01, 0x00])
        #expect(try bytes { try $0.writeKafkaNullableArray(nil as [Int16]?) { $0.writeKafkaInt16($1) } } == [0xff, 0xff, 0xff, 0xff])
        #expect(try bytes { try $0.writeKafkaCompactNullableArray(nil as [Int16]?) { $0.writeKafkaInt16($1) } } == [0])

        try expectStreaming(classic, equals: values) { try $0.readKafkaArray { $0.readKafkaInt16() } }
        try expectStreaming(compact, equals: values) { try $0.readKafkaCompactArray { $0.readKafkaInt16() } }
        // Arrays of strings: an element that is incomplete makes the whole array incomplete.
        let names = try bytes { try $0.writeKafkaCompactArray(["a", "bc"]) { try $0.writeKafkaCompactString($1) } }
        try expectStreaming(names, equals: ["a", "bc"]) { try $0.readKafkaCompactArray { try $0.readKafkaCompactString() } }
    }

    @Test func malformedArraysAreRefused() {
        expectMalformed([0xff, 0xff, 0xff, 0xff], mentioning: "not nullable") { try $0.readKafkaArray { $0.readKafkaInt8() } }
        expectMalformed([0x00], mentioning: "COMPACT_ARRAY is null") { try $0.readKafkaCompactArray { $0.readKafkaInt8() } }
        // An element's own error surfaces.
        expectMalformed([0x02, 0x00], mentioning: "COMPACT_STRING is null") {
            try $0.readKafkaCompactArray { try $0.readKafkaCompactString() }
        }
    }

    @Test func taggedFieldsAreReadAndUnknownOnesSkipped() throws {
        #expect(bytes { $0.writeKafkaEmptyTaggedFields() } == [0x00])
        // Two fields (tag 0: 2 bytes, tag 7: 1 byte), then an INT8 that follows the section.
        var buffer = ByteBuffer(bytes: [0x02, 0x00, 0x02, 0xaa, 0xbb, 0x07, 0x01, 0xcc, 0x2a])
        let fields = try buffer.readKafkaTaggedFields()
        #expect(fields?.count == 2)
        #expect(fields?[0].map { Array($0.readableBytesView) } == [0xaa, 0xbb])
        #expect(fields?[7].map { Array($0.readableBytesView) } == [0xcc])
        #expect(buffer.readKafkaInt8() == 0x2a)

        var truncated = ByteBuffer(bytes: [0x01, 0x00, 0x05, 0x01])
        #expect(try truncated.readKafkaTaggedFields() == nil)
        #expect(truncated.readerIndex == 0)
        expectMalformed([0x02, 0x01, 0x00, 0x01, 0x00], mentioning: "tagged field 1 appears twice") { try $0.readKafkaTaggedFields() }
    }
}
