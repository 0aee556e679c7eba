import NIOCore
import Testing

@testable import RESP

@Suite struct RESPValueTests {
    @Test func accessors() {
        #expect(RESPValue.simpleString("OK").string == "OK")
        #expect(RESPValue.bulkString(ByteBuffer(string: "héllo")).string == "héllo")
        #expect(RESPValue.integer(-5).string == "-5")
        #expect(RESPValue.double(1.5).string == "1.5")
        #expect(RESPValue.null.string == nil)
        #expect(RESPValue.error("ERR x").string == nil)
        #expect(RESPValue.array([]).string == nil)

        #expect(RESPValue.integer(42).int == 42)
        #expect(RESPValue.bulkString(ByteBuffer(string: "-17")).int == -17)
        #expect(RESPValue.simpleString("12").int == 12)
        #expect(RESPValue.bulkString(ByteBuffer(string: "12x")).int == nil)
        #expect(RESPValue.bulkString(ByteBuffer(string: String(repeating: "1", count: 30))).int == nil)
        #expect(RESPValue.null.int == nil)

        #expect(RESPValue.array([.integer(1)]).array == [.integer(1)])
        #expect(RESPValue.map([:]).array == nil)
        #expect(RESPValue.null.isNull)
        #expect(!RESPValue.bulkString(ByteBuffer()).isNull)
    }

    @Test func commandsAreEncodedAsArraysOfBulkStrings() {
        var buffer = ByteBuffer()
        buffer.writeRedisCommand(RedisCommand("SET", ["clé", .bytes(ByteBuffer(bytes: [0, 13, 10])), .int(-7), 12]))
        let expected = "*5\r\n$3\r\nSET\r\n$4\r\nclé\r\n$3\r\n\u{0}\r\n\r\n$2\r\n-7\r\n$2\r\n12\r\n"
        #expect(String(buffer: buffer) == expected)
        // The description, which reaches logs, never shows arguments (they may be passwords).
        #expect(RedisCommand("AUTH", ["hunter2"]).description == "AUTH (1 arguments)")
    }

    /// What `writeRESPValue` writes, the decoder reads back unchanged.
    @Test func writtenValuesDecodeToThemselves() throws {
        let values: [RESPValue] = [
            .simpleString("OK"), .error("ERR x"), .integer(.min), .double(-2.5), .double(.infinity), .boolean(false), .null,
            .bulkString(ByteBuffer(bytes: [0, 255, 13, 10])),
            .array([.integer(1), .array([.null, .bulkString(ByteBuffer(string: "nested"))])]),
            .map([.simpleString("a"): .array([]), .integer(2): .map([:])]),
        ]
        var buffer = ByteBuffer()
        for value in values {
            buffer.writeRESPValue(value)
        }
        var decoder = RESPDecoder()
        var decoded: [RESPValue] = []
        while case .reply(let value)? = try decoder.decode(buffer: &buffer) {
            decoded.append(value)
        }
        #expect(decoded == values)
        #expect(buffer.readableBytes == 0)
    }
}
