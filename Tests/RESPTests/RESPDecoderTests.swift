import NIOCore
import NIOTestUtils
import Testing

@testable import RESP

/// Feeds `input` to a fresh decoder one byte at a time and returns every frame it produced,
/// checking that none appears before its last byte has arrived.
private func decodeByteByByte(_ input: String, limits: RESPDecoder.Limits = RESPDecoder.Limits()) throws -> [RESPFrame] {
    let processor = NIOSingleStepByteToMessageProcessor(RESPDecoder(limits: limits))
    var frames: [RESPFrame] = []
    for byte in input.utf8 {
        try processor.process(buffer: ByteBuffer(bytes: [byte])) { frames.append($0) }
    }
    return frames
}

/// Decodes `input` given in one piece.
private func decodeWhole(_ input: String, limits: RESPDecoder.Limits = RESPDecoder.Limits()) throws -> [RESPFrame] {
    let processor = NIOSingleStepByteToMessageProcessor(RESPDecoder(limits: limits))
    var frames: [RESPFrame] = []
    try processor.process(buffer: ByteBuffer(string: input)) { frames.append($0) }
    return frames
}

private func bulk(_ text: String) -> RESPValue {
    .bulkString(ByteBuffer(string: text))
}

/// Expects `input` to be refused as a protocol error whose message contains `fragment`.
private func expectProtocolError(_ input: String, mentioning fragment: String, limits: RESPDecoder.Limits = RESPDecoder.Limits()) {
    let error = #expect(throws: RedisClientError.self, "\(input.debugDescription)") {
        try decodeWhole(input, limits: limits)
    }
    #expect(error?.code == .protocolError)
    #expect(error?.message.contains(fragment) == true, "\(error?.message ?? "no error") should mention \(fragment)")
}

@Suite struct RESPDecoderTests {
    /// Every reply type, RESP2 and RESP3, with the value it must decode to.
    static let cases: [(input: String, value: RESPValue)] = [
        // RESP2
        ("+OK\r\n", .simpleString("OK")),
        ("+\r\n", .simpleString("")),
        ("-ERR unknown command 'FOO'\r\n", .error("ERR unknown command 'FOO'")),
        (":0\r\n", .integer(0)),
        (":-42\r\n", .integer(-42)),
        (":9223372036854775807\r\n", .integer(.max)),
        (":-9223372036854775808\r\n", .integer(.min)),
        ("$5\r\nhello\r\n", bulk("hello")),
        ("$0\r\n\r\n", bulk("")),
        ("$4\r\na\r\nb\r\n", bulk("a\r\nb")),
        ("$-1\r\n", .null),
        ("*-1\r\n", .null),
        ("*0\r\n", .array([])),
        ("*3\r\n:1\r\n$3\r\nfoo\r\n*1\r\n+x\r\n", .array([.integer(1), bulk("foo"), .array([.simpleString("x")])])),
        ("*2\r\n$-1\r\n*-1\r\n", .array([.null, .null])),
        // RESP3
        ("_\r\n", .null),
        (",3.25\r\n", .double(3.25)),
        (",-1e3\r\n", .double(-1000)),
        (",inf\r\n", .double(.infinity)),
        (",-inf\r\n", .double(-.infinity)),
        ("#t\r\n", .boolean(true)),
        ("#f\r\n", .boolean(false)),
        ("(3492890328409238509324850943850943825024385\r\n", .simpleString("3492890328409238509324850943850943825024385")),
        ("(-12\r\n", .simpleString("-12")),
        ("!21\r\nSYNTAX invalid syntax\r\n", .error("SYNTAX invalid syntax")),
        ("=15\r\ntxt:Some string\r\n", bulk("Some string")),
        ("%2\r\n+first\r\n:1\r\n$6\r\nsecond\r\n#t\r\n", .map([.simpleString("first"): .integer(1), bulk("second"): .boolean(true)])),
        ("%0\r\n", .map([:])),
        ("~3\r\n+a\r\n+b\r\n:3\r\n", .array([.simpleString("a"), .simpleString("b"), .integer(3)])),
        // Attributes are skipped, at the top level and inside aggregates.
        ("|1\r\n+key-popularity\r\n%1\r\n$1\r\na\r\n,0.19\r\n*2\r\n:2039123\r\n:9543892\r\n", .array([.integer(2_039_123), .integer(9_543_892)])),
        ("*2\r\n:1\r\n|1\r\n+ttl\r\n:3600\r\n:2\r\n", .array([.integer(1), .integer(2)])),
    ]

    @Test func everyReplyTypeDecodesByteByByte() throws {
        for (input, value) in Self.cases {
            let frames = try decodeByteByByte(input)
            #expect(frames == [.reply(value)], "\(input.debugDescription)")
        }
    }

    @Test func nanDecodes() throws {
        let frames = try decodeByteByByte(",nan\r\n")
        guard case .reply(.double(let double)) = frames.first else {
            Issue.record("expected a double, got \(frames)")
            return
        }
        #expect(double.isNaN)
    }

    /// NIO's verifier feeds the inputs one byte at a time, all together, each whole, and checks leftovers.
    @Test func nioDecoderVerifierAcceptsEveryReplyType() throws {
        try ByteToMessageDecoderVerifier.verifyDecoder(
            stringInputOutputPairs: Self.cases.map { ($0.input, [RESPFrame.reply($0.value)]) },
            decoderFactory: { RESPDecoder() }
        )
    }

    @Test func backToBackRepliesDecodeInOrder() throws {
        let input = Self.cases.map(\.input).joined()
        #expect(try decodeWhole(input) == Self.cases.map { .reply($0.value) })
        #expect(try decodeByteByByte(input) == Self.cases.map { .reply($0.value) })
    }

    @Test func pushFramesAreTaggedAsPush() throws {
        let input = ">3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$5\r\nhello\r\n+OK\r\n"
        let expected: [RESPFrame] = [.push([bulk("message"), bulk("news"), bulk("hello")]), .reply(.simpleString("OK"))]
        #expect(try decodeByteByByte(input) == expected)
        // A push preceded by an attribute is still a push.
        #expect(try decodeWhole("|1\r\n+a\r\n+b\r\n>1\r\n+invalidate\r\n") == [.push([.simpleString("invalidate")])])
        // Nested inside a reply, ">" is only an array.
        #expect(try decodeWhole("*1\r\n>1\r\n:1\r\n") == [.reply(.array([.array([.integer(1)])]))])
    }

    @Test func incompleteInputWaitsForMoreBytes() throws {
        for (input, _) in Self.cases {
            #expect(try decodeWhole(String(input.dropLast())) == [], "\(input.debugDescription)")
        }
        // A large bulk string arriving in chunks decodes once, when complete.
        let processor = NIOSingleStepByteToMessageProcessor(RESPDecoder())
        var frames: [RESPFrame] = []
        let payload = String(repeating: "x", count: 100_000)
        let wire = Array("$100000\r\n\(payload)\r\n".utf8)
        for start in stride(from: 0, to: wire.count, by: 1000) {
            try processor.process(buffer: ByteBuffer(bytes: wire[start..<min(start + 1000, wire.count)])) { frames.append($0) }
        }
        #expect(frames == [.reply(bulk(payload))])
    }

    @Test func malformedInputIsAProtocolError() {
        expectProtocolError("?foo\r\n", mentioning: "unknown type byte")
        expectProtocolError(":12a\r\n", mentioning: "invalid integer")
        expectProtocolError(":\r\n", mentioning: "invalid integer")
        expectProtocolError(":99999999999999999999\r\n", mentioning: "invalid integer")
        expectProtocolError("$abc\r\n", mentioning: "invalid length")
        expectProtocolError("$-2\r\n", mentioning: "invalid length")
        expectProtocolError("$3\r\nabcd\r\n", mentioning: "not terminated by CRLF")
        expectProtocolError("*x\r\n", mentioning: "invalid count")
        expectProtocolError("~-1\r\n", mentioning: "invalid count -1")
        expectProtocolError("!-1\r\n", mentioning: "invalid length -1")
        expectProtocolError("+OK\rX", mentioning: "carriage return not followed by line feed")
        expectProtocolError("#x\r\n", mentioning: "invalid boolean")
        expectProtocolError(",1.5x\r\n", mentioning: "invalid double")
        expectProtocolError(",infinity\r\n", mentioning: "invalid double")
        expectProtocolError("_x\r\n", mentioning: "null with content")
        expectProtocolError("(12a\r\n", mentioning: "invalid big number")
        expectProtocolError("=3\r\ntxt\r\n", mentioning: "verbatim string")
        // RESP3 streamed strings are not sent by Redis and are refused rather than misread.
        expectProtocolError("$?\r\n;4\r\nHell\r\n;0\r\n", mentioning: "invalid length")
    }

    @Test func nestingDeeperThanTheLimitIsRefused() throws {
        var limits = RESPDecoder.Limits()
        limits.maximumDepth = 4
        let nested = { (depth: Int) in String(repeating: "*1\r\n", count: depth) + ":1\r\n" }
        var expected = RESPValue.integer(1)
        for _ in 0..<4 {
            expected = .array([expected])
        }
        #expect(try decodeByteByByte(nested(4), limits: limits) == [.reply(expected)])
        expectProtocolError(nested(5), mentioning: "nesting deeper than 4", limits: limits)
        // With the default limit, hostile nesting is refused long before the stack is at risk.
        expectProtocolError(nested(100_000), mentioning: "nesting deeper than 32")
        expectProtocolError(String(repeating: "%1\r\n+k\r\n", count: 100) + ":1\r\n", mentioning: "nesting deeper")
        expectProtocolError(String(repeating: "|1\r\n+k\r\n", count: 100) + ":1\r\n", mentioning: "nesting deeper")
    }

    @Test func sizesBeyondTheLimitsAreRefusedBeforeBuffering() throws {
        var limits = RESPDecoder.Limits()
        limits.maximumBulkLength = 10
        limits.maximumAggregateCount = 3
        limits.maximumLineLength = 16
        limits.maximumFrameSize = 1000
        #expect(try decodeWhole("$10\r\n0123456789\r\n", limits: limits) == [.reply(bulk("0123456789"))])
        expectProtocolError("$11\r\n", mentioning: "over the limit of 10", limits: limits)
        expectProtocolError("*4\r\n", mentioning: "over the limit of 3", limits: limits)
        expectProtocolError("%4\r\n", mentioning: "over the limit of 3", limits: limits)
        expectProtocolError("+" + String(repeating: "a", count: 17), mentioning: "line longer than 16", limits: limits)
        expectProtocolError("+" + String(repeating: "a", count: 17) + "\r\n", mentioning: "line longer than 16", limits: limits)
        // Elements within the limits still cannot make one frame grow without bound.
        limits.maximumAggregateCount = 100
        let processor = NIOSingleStepByteToMessageProcessor(RESPDecoder(limits: limits))
        let error = #expect(throws: RedisClientError.self) {
            try processor.process(buffer: ByteBuffer(string: "*100\r\n")) { _ in }
            for _ in 0..<100 {
                try processor.process(buffer: ByteBuffer(string: "$10\r\n0123456789\r\n")) { _ in }
            }
        }
        #expect(error?.message.contains("reply larger than 1000 bytes") == true)
        // A huge declared count allocates nothing up front: the default decoder waits for the bytes.
        #expect(try decodeWhole("*1000000\r\n") == [])
        #expect(try decodeWhole("$67108864\r\n") == [])
    }
}
