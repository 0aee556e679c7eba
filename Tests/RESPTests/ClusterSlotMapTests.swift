import NIOCore
import Testing

@testable import RESP

private func bulk(_ text: String) -> RESPValue {
    .bulkString(ByteBuffer(string: text))
}

/// A node of a `CLUSTER SHARDS` reply as Redis 7.0 sends it (field order included), RESP3 map or RESP2 flat array.
private func shardsNode(
    id: String,
    port: Int64,
    ip: String = "127.0.0.1",
    endpoint: String? = nil,
    role: String,
    health: String = "online",
    resp3: Bool
)
    -> RESPValue
{
    let fields: [(String, RESPValue)] = [
        ("id", bulk(id)), ("port", .integer(port)), ("ip", bulk(ip)), ("endpoint", bulk(endpoint ?? ip)),
        ("role", bulk(role)), ("replication-offset", .integer(14)), ("health", bulk(health)),
    ]
    return resp3 ? .map(Dictionary(uniqueKeysWithValues: fields.map { (bulk($0.0), $0.1) })) : .array(fields.flatMap { [bulk($0.0), $0.1] })
}

private func shard(slots: [Int64], nodes: [RESPValue], resp3: Bool) -> RESPValue {
    let slotValues = RESPValue.array(slots.map { .integer($0) })
    return resp3
        ? .map([bulk("slots"): slotValues, bulk("nodes"): .array(nodes)])
        : .array([bulk("slots"), slotValues, bulk("nodes"), .array(nodes)])
}

private let idA = String(repeating: "a", count: 40)
private let idB = String(repeating: "b", count: 40)
private let idC = String(repeating: "c", count: 40)
private let idD = String(repeating: "d", count: 40)

@Suite struct ClusterSlotMapTests {
    /// Three masters, the first with a replica: the shape of `redis-cli --cluster create` on three nodes, plus one.
    private func threeShards(resp3: Bool) -> RESPValue {
        .array([
            shard(slots: [10923, 16383], nodes: [shardsNode(id: idC, port: 7003, role: "master", resp3: resp3)], resp3: resp3),
            shard(slots: [5461, 10922], nodes: [shardsNode(id: idB, port: 7002, role: "master", resp3: resp3)], resp3: resp3),
            shard(
                slots: [0, 5460],
                nodes: [
                    shardsNode(id: idA, port: 7001, role: "master", resp3: resp3),
                    shardsNode(id: idD, port: 7004, role: "replica", resp3: resp3),
                ],
                resp3: resp3
            ),
        ])
    }

    @Test(arguments: [true, false])
    func clusterShardsInBothShapes(resp3: Bool) throws {
        let map = try ClusterSlotMap(shardsReply: self.threeShards(resp3: resp3), askedHost: "10.0.0.9")
        #expect(map.coveredSlotCount == 16384)
        #expect(map.master(for: HashSlot(key: "user1000")) == .init(id: idA, host: "127.0.0.1", port: 7001))  // slot 3443
        #expect(map.replicas(for: HashSlot(key: "user1000")) == [.init(id: idD, host: "127.0.0.1", port: 7004)])
        #expect(map.master(for: HashSlot(key: "bar"))?.port == 7001)  // 5061
        #expect(map.master(for: HashSlot(key: "foo"))?.port == 7003)  // 12182
        #expect(map.master(for: HashSlot(key: "{c:42}:meta"))?.port == 7002)  // 7978
        #expect(map.replicas(for: HashSlot(key: "foo")) == [])
        // In slot order, whatever the order of the reply.
        #expect(map.masters.map(\.port) == [7001, 7002, 7003])
        #expect(map.master(for: HashSlot(rawValue: 5460) ?? HashSlot(key: ""))?.port == 7001)
        #expect(map.master(for: HashSlot(rawValue: 5461) ?? HashSlot(key: ""))?.port == 7002)
    }

    @Test func clusterShardsWithSeveralRangesGapsAndAFailover() throws {
        // After a failover the old master is listed as a failed replica... or still as a failed master: the
        // online one wins. A master with no slot (just added) is kept; slots 100…199 are served by nobody.
        let reply = RESPValue.array([
            shard(
                slots: [0, 99, 200, 300],
                nodes: [
                    shardsNode(id: idA, port: 7001, role: "master", health: "fail", resp3: true),
                    shardsNode(id: idD, port: 7004, endpoint: "node-d.example", role: "master", resp3: true),
                    shardsNode(id: idB, port: 7002, role: "replica", health: "failed", resp3: true),
                ],
                resp3: true
            ),
            shard(slots: [], nodes: [shardsNode(id: idC, port: 7003, ip: "", endpoint: "?", role: "master", resp3: true)], resp3: true),
            // The master a failover replaced, alone in a shard without slots.
            shard(slots: [], nodes: [shardsNode(id: idB, port: 7002, role: "master", health: "failed", resp3: true)], resp3: true),
        ])
        let map = try ClusterSlotMap(shardsReply: reply, askedHost: "10.0.0.9")
        #expect(map.coveredSlotCount == 100 + 101)
        #expect(map.master(for: HashSlot(rawValue: 250) ?? HashSlot(key: "")) == .init(id: idD, host: "node-d.example", port: 7004))
        #expect(map.master(for: HashSlot(rawValue: 150) ?? HashSlot(key: "")) == nil)
        #expect(map.replicas(for: HashSlot(rawValue: 0) ?? HashSlot(key: "")) == [])
        // Unknown address: the node that answered is on the same host.
        #expect(map.masters.map(\.description) == ["node-d.example:7004", "10.0.0.9:7003"])
    }

    @Test func clusterSlotsReply() throws {
        // Redis 7: [start, end, [ip, port, id, {metadata}], replica…]; Redis 3-6 give no metadata, old ones no id.
        let reply = RESPValue.array([
            .array([
                .integer(0), .integer(5460), .array([bulk("127.0.0.1"), .integer(7001), bulk(idA), .map([:])]),
                .array([bulk("127.0.0.1"), .integer(7004), bulk(idD)]),
            ]),
            .array([.integer(5461), .integer(10922), .array([bulk(""), .integer(7002)])]),
            .array([.integer(10923), .integer(16000), .array([bulk("127.0.0.1"), .integer(7003), bulk(idC), .array([])])]),
            .array([.integer(16001), .integer(16383), .array([bulk("127.0.0.1"), .integer(7001), bulk(idA)])]),
        ])
        let map = try ClusterSlotMap(slotsReply: reply, askedHost: "10.0.0.9")
        #expect(map.coveredSlotCount == 16384)
        #expect(map.shards.count == 3)
        #expect(map.shards[0].slots == [0...5460, 16001...16383])
        #expect(map.master(for: HashSlot(rawValue: 16383) ?? HashSlot(key: "")) == .init(id: idA, host: "127.0.0.1", port: 7001))
        #expect(map.replicas(for: HashSlot(rawValue: 0) ?? HashSlot(key: "")).map(\.port) == [7004])
        #expect(map.master(for: HashSlot(key: "{c:42}:meta")) == .init(id: nil, host: "10.0.0.9", port: 7002))
    }

    @Test func bothShapesGiveTheSameMap() throws {
        let slots = RESPValue.array([
            .array([.integer(10923), .integer(16383), .array([bulk("127.0.0.1"), .integer(7003), bulk(idC)])]),
            .array([.integer(5461), .integer(10922), .array([bulk("127.0.0.1"), .integer(7002), bulk(idB)])]),
            .array([
                .integer(0), .integer(5460), .array([bulk("127.0.0.1"), .integer(7001), bulk(idA)]),
                .array([bulk("127.0.0.1"), .integer(7004), bulk(idD)]),
            ]),
        ])
        let fromSlots = try ClusterSlotMap(slotsReply: slots, askedHost: "x")
        #expect(try ClusterSlotMap(shardsReply: self.threeShards(resp3: true), askedHost: "x") == fromSlots)
        #expect(try ClusterSlotMap(shardsReply: self.threeShards(resp3: false), askedHost: "x") == fromSlots)
    }

    @Test(arguments: [
        RESPValue.simpleString("OK"),
        .array([.integer(1)]),
        .array([.map([bulk("slots"): .array([.integer(0)]), bulk("nodes"): .array([])])]),
        .array([.map([bulk("slots"): .array([.integer(5), .integer(2)]), bulk("nodes"): .array([])])]),
        .array([.map([bulk("slots"): .array([.integer(0), .integer(16384)]), bulk("nodes"): .array([])])]),
        .array([.map([bulk("slots"): .array([.integer(0), .integer(1)]), bulk("nodes"): .array([.map([bulk("port"): .integer(0)])])])]),
        .array([.array([bulk("slots"), .array([])])]),
    ])
    func malformedShardsRepliesAreProtocolErrors(reply: RESPValue) {
        let error = #expect(throws: RedisClientError.self) { try ClusterSlotMap(shardsReply: reply, askedHost: "x") }
        #expect(error?.code == .protocolError)
        #expect(error?.message.contains("CLUSTER SHARDS") == true)
    }

    @Test(arguments: [
        RESPValue.null,
        .array([.array([.integer(0), .integer(10)])]),
        .array([.array([.integer(0), .integer(10), .array([bulk("h")])])]),
        .array([.array([.integer(0), .integer(20_000), .array([bulk("h"), .integer(1)])])]),
        .array([.array([bulk("x"), .integer(10), .array([bulk("h"), .integer(1)])])]),
    ])
    func malformedSlotsRepliesAreProtocolErrors(reply: RESPValue) {
        let error = #expect(throws: RedisClientError.self) { try ClusterSlotMap(slotsReply: reply, askedHost: "x") }
        #expect(error?.code == .protocolError)
    }

    @Test func anEmptyMapServesNothing() {
        let map = ClusterSlotMap(shards: [])
        #expect(map.coveredSlotCount == 0)
        #expect(map.master(for: HashSlot(key: "k")) == nil)
        #expect(map.masters.isEmpty)
    }
}
