import NIOCore
import Testing

@testable import RESP

/// Which key routes each command, for the commands this project sends and the ones whose key is not first.
@Suite struct RoutingKeyTests {
    @Test(arguments: [
        RedisCommand("GET", ["{c:1}:issued"]),
        RedisCommand("SET", ["{c:1}:issued", "v", "NX", "PX", 10_000]),
        RedisCommand("HGET", ["{c:1}:issued", "epoch"]),
        RedisCommand("HSET", ["{c:1}:issued", "a", "b"]),
        RedisCommand("EXISTS", ["{c:1}:issued"]),
        RedisCommand("DEL", ["{c:1}:issued"]),
        RedisCommand("XLEN", ["{c:1}:issued"]),
        RedisCommand("XADD", ["{c:1}:issued", "*", "f", "v"]),
        RedisCommand("XACK", ["{c:1}:issued", "relay", "1-0"]),
        RedisCommand("XTRIM", ["{c:1}:issued", "MINID", "5-0"]),
        RedisCommand("XRANGE", ["{c:1}:issued", "-", "+", "COUNT", 1]),
        RedisCommand("XPENDING", ["{c:1}:issued", "relay"]),
        RedisCommand("XAUTOCLAIM", ["{c:1}:issued", "relay", "me", 1000, "0-0", "COUNT", 10]),
        RedisCommand("HSCAN", ["{c:1}:issued", "0", "COUNT", 100]),
        RedisCommand("XINFO", ["GROUPS", "{c:1}:issued"]),
        RedisCommand("XGROUP", ["CREATE", "{c:1}:issued", "relay", "0", "MKSTREAM"]),
        RedisCommand("XREADGROUP", ["GROUP", "relay", "me", "COUNT", 10, "STREAMS", "{c:1}:issued", ">"]),
        RedisCommand("xread", ["count", 1, "streams", "{c:1}:issued", "0"]),
        RedisCommand("EVALSHA", ["0123456789abcdef0123456789abcdef01234567", 2, "{c:1}:issued", "{c:1}:meta", "arg"]),
        RedisCommand("EVAL", ["return 1", "1", "{c:1}:issued"]),
        RedisCommand("FCALL", ["issue", 1, "{c:1}:issued"]),
        RedisCommand("ZUNION", [2, "{c:1}:issued", "{c:1}:other"]),
        RedisCommand("BLMPOP", [0, 1, "{c:1}:issued", "LEFT"]),
        RedisCommand("MEMORY", ["USAGE", "{c:1}:issued"]),
        RedisCommand("BITOP", ["AND", "{c:1}:issued", "{c:1}:a"]),
    ])
    func keyedCommandsRouteByTheirKey(command: RedisCommand) {
        #expect(command.routingKey == "{c:1}:issued", "\(command.name)")
        #expect(command.hashSlot == HashSlot(key: "c:1"))
        #expect(command.clusterRouting == .key("{c:1}:issued"))
    }

    @Test(arguments: [
        RedisCommand("PING"),
        RedisCommand("TIME", []),
        RedisCommand("INFO", ["server"]),
        RedisCommand("CLUSTER", ["SHARDS"]),
        RedisCommand("HELLO", ["3"]),
        RedisCommand("SCRIPT", ["EXISTS", "0123"]),
        RedisCommand("FUNCTION", ["LIST"]),
        RedisCommand("CLIENT", ["INFO"]),
        RedisCommand("DBSIZE"),
        RedisCommand("EVALSHA", ["0123456789abcdef0123456789abcdef01234567", 0]),
        RedisCommand("EVAL", ["return 1", "0", "not-a-key"]),
        RedisCommand("XREAD", ["COUNT", 1]),
        RedisCommand("XINFO", ["HELP"]),
        RedisCommand("MEMORY", ["STATS"]),
        RedisCommand("MULTI"),
    ])
    func keylessCommandsGoToAnyMaster(command: RedisCommand) {
        #expect(command.routingKey == nil, "\(command.name)")
        #expect(command.hashSlot == nil)
        #expect(command.clusterRouting == .anyMaster)
    }

    @Test(arguments: [
        RedisCommand("SCRIPT", ["LOAD", "return 1"]),
        RedisCommand("script", ["flush"]),
        RedisCommand("FUNCTION", ["LOAD", "#!lua name=lib\n"]),
        RedisCommand("FUNCTION", ["DELETE", "lib"]),
        RedisCommand("FLUSHALL"),
    ])
    func commandsChangingSharedStateGoToEveryMaster(command: RedisCommand) {
        #expect(command.routingKey == nil)
        #expect(command.clusterRouting == .allMasters)
    }

    @Test func binaryKeysAndKeywordsAreRead() {
        let key = ByteBuffer(bytes: [0x00, 0xFF])
        let command = RedisCommand("XREADGROUP", ["GROUP", "g", "c", .bytes(ByteBuffer(string: "streams")), .bytes(key), ">"])
        #expect(command.routingKey == .bytes(key))
        #expect(RedisCommand("EVALSHA", ["sha", .bytes(ByteBuffer(string: "1")), "k"]).routingKey == "k")
    }
}
