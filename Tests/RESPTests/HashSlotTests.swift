import NIOCore
import Testing

@testable import RESP

/// Slot vectors from the Redis cluster specification, each checked against `CLUSTER KEYSLOT` of a
/// cluster-enabled redis-server 7.0.15.
@Suite struct HashSlotTests {
    @Test func crc16IsXModem() {
        #expect(HashSlot.crc16(Array("123456789".utf8)) == 0x31C3)
        #expect(HashSlot.crc16([]) == 0)
    }

    @Test(arguments: [
        ("123456789", 12739),
        ("foo", 12182),
        ("bar", 5061),
        ("", 0),
        ("a{", 14311),
        ("{}", 15257),
    ])
    func slotOfAPlainKey(key: String, slot: Int) {
        #expect(HashSlot(key: key).rawValue == UInt16(slot))
    }

    @Test func keysWithTheSameHashTagShareASlot() {
        let slot = HashSlot(key: "user1000")
        #expect(slot.rawValue == 3443)
        #expect(HashSlot(key: "{user1000}.following") == slot)
        #expect(HashSlot(key: "{user1000}.followers") == slot)
        // Our campaigns' keys: one tag per campaign.
        #expect(HashSlot(key: "{c:42}:meta") == HashSlot(key: "{c:42}:issued"))
        #expect(HashSlot(key: "{c:42}:meta").rawValue == 7978)
    }

    @Test func onlyTheFirstNonEmptyTagCounts() {
        // The first tag is empty: the whole key is hashed.
        #expect(HashSlot(key: "foo{}{bar}").rawValue == 8363)
        #expect(HashSlot(key: "foo{}{bar}") != HashSlot(key: "bar"))
        // The tag ends at the first "}" after the first "{": "{bar" is hashed.
        #expect(HashSlot(key: "foo{{bar}}zap") == HashSlot(key: "{bar"))
        #expect(HashSlot(key: "foo{{bar}}zap").rawValue == 4015)
        // Only the first tag counts.
        #expect(HashSlot(key: "foo{bar}{zap}") == HashSlot(key: "bar"))
        #expect(HashSlot(key: "foo{bar}{zap}").rawValue == 5061)
    }

    @Test func bytesTextAndIntegerKeysAgree() {
        #expect(HashSlot(key: RESPArgument.bytes(ByteBuffer(string: "foo"))) == HashSlot(key: "foo"))
        #expect(HashSlot(key: RESPArgument.string("foo")) == HashSlot(key: "foo"))
        #expect(HashSlot(key: RESPArgument.int(123_456_789)).rawValue == 12739)
        // Binary keys are hashed byte for byte.
        #expect(HashSlot(key: [0xFF, 0x00, UInt8(ascii: "{"), UInt8(ascii: "a"), UInt8(ascii: "}")]) == HashSlot(key: "a"))
    }

    @Test func rawValuesAreBounded() {
        #expect(HashSlot(rawValue: 16383) != nil)
        #expect(HashSlot(rawValue: 16384) == nil)
        #expect(HashSlot.count == 16384)
    }
}
