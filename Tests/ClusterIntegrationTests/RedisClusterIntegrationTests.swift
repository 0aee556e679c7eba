import CouponTestSupport
import Foundation
import Logging
import NIOCore
import NIOPosix
import Testing

@testable import RESP

private let logger = Logger(label: "RESPTests")

/// Sends `command` to one node directly, bypassing the cluster client (to look at where data went).
private func direct(_ node: RedisServerProcess, _ command: RedisCommand) async throws -> RESPValue {
    let connection = try await RedisConnection.connect(
        configuration: node.configuration(),
        eventLoop: MultiThreadedEventLoopGroup.singleton.next(),
        logger: logger
    )
    defer { connection.close() }
    return try await connection.send(command)
}

extension ClusterIntegrationTests {
    /// The cluster client against a real three-master Redis Cluster that each test starts itself (`RedisClusterProcess`).
    @Suite struct RedisClusterIntegrationTests {
        @Test func aThousandSetsAndGetsOfRandomKeysAcrossAllSlots() async throws {
            let cluster = try await RedisClusterProcess.start()
            defer { cluster.stop() }
            let client = RedisClusterClient(configuration: cluster.configuration(), logger: logger)
            try await withRunning(client) { _ async throws in
                #expect(client.slotMap?.masters.count == 3)
                #expect(client.slotMap?.coveredSlotCount == 16384)
                // 20 tasks × 50 keys; every GET must see its own SET, whichever node holds it.
                let mismatches = try await setsAndGets(on: client, tasks: 20, keysPerTask: 50) { _, _ in UUID().uuidString }
                #expect(mismatches == 0)
                // Spread over all three masters, each holding only keys of its own slots.
                var sizes: [Int64] = []
                for node in cluster.nodes {
                    sizes.append(try await direct(node, RedisCommand("DBSIZE")).int ?? -1)
                }
                #expect(sizes.reduce(0, +) == 1000)
                #expect(sizes.allSatisfy { $0 > 200 }, "\(sizes)")
                // A pipeline across nodes gets every reply, in order.
                let keys = (0..<100).map { "pipe:\($0)" }
                let sets = try await client.pipeline(keys.map { RedisCommand("SET", [.string($0), .string("v-\($0)")]) })
                #expect(sets == Array(repeating: .simpleString("OK"), count: 100))
                let gets = try await client.pipeline(keys.map { RedisCommand("GET", [.string($0)]) })
                #expect(gets.map(\.string) == keys.map { "v-\($0)" })
            }
        }

        @Test func scriptsReachTheOwnerOfTheirHashTag() async throws {
            let cluster = try await RedisClusterProcess.start()
            defer { cluster.stop() }
            let client = RedisClusterClient(configuration: cluster.configuration(), logger: logger)
            let source = "redis.call('SET', KEYS[1], ARGV[1]) redis.call('SET', KEYS[2], ARGV[1]) return redis.call('GET', KEYS[1])"
            try await withRunning(client) { _ async throws in
                // SCRIPT LOAD goes to every master, so EVALSHA works on whichever owns the keys.
                let sha = try await client.send(RedisCommand("SCRIPT", ["LOAD", .string(source)])).string ?? ""
                for node in cluster.nodes {
                    #expect(try await direct(node, RedisCommand("SCRIPT", ["EXISTS", .string(sha)])) == .array([.integer(1)]))
                }
                for campaign in 0..<12 {
                    let keys = ["{c:\(campaign)}:meta", "{c:\(campaign)}:issued"]
                    let reply = try await client.send(
                        RedisCommand("EVALSHA", [.string(sha), 2, .string(keys[0]), .string(keys[1]), .string("sha-\(campaign)")])
                    )
                    #expect(reply.string == "sha-\(campaign)")
                    let evalReply = try await client.send(
                        RedisCommand("EVAL", [.string(source), 2, .string(keys[0]), .string(keys[1]), .string("eval-\(campaign)")])
                    )
                    #expect(evalReply.string == "eval-\(campaign)")
                    // Both keys are on the master that owns the tag's slot.
                    let slot = HashSlot(key: "c:\(campaign)")
                    let owner = try #require(cluster.nodes.first { $0.port == client.slotMap?.master(for: slot)?.port })
                    #expect(try await direct(owner, RedisCommand("CLUSTER", ["COUNTKEYSINSLOT", .int(Int64(slot.rawValue))])) == .integer(2))
                    #expect(try await direct(owner, RedisCommand("GET", [.string(keys[1])])).string == "eval-\(campaign)")
                }
                // A script error is the caller's, not retried.
                let error = await #expect(throws: RedisClientError.self) {
                    try await client.send(RedisCommand("EVAL", ["return redis.call('INCR', KEYS[1])", 1, "{c:0}:meta"]))
                }
                #expect(error?.code == .serverError)
            }
        }

        @Test func aSlotMigrationIsFollowedThroughAskThenMoved() async throws {
            let cluster = try await RedisClusterProcess.start()
            defer { cluster.stop() }
            let client = RedisClusterClient(configuration: cluster.configuration(), logger: logger)
            try await withRunning(client) { _ async throws in
                let slot = HashSlot(key: "m")
                let source = try #require(cluster.nodes.first { $0.port == client.slotMap?.master(for: slot)?.port })
                let target = try #require(cluster.nodes.first { $0.port != source.port })
                let sourceID = try await direct(source, RedisCommand("CLUSTER", ["MYID"])).string ?? ""
                let targetID = try await direct(target, RedisCommand("CLUSTER", ["MYID"])).string ?? ""
                #expect(try await client.send(RedisCommand("SET", ["{m}x", "before"])) == .simpleString("OK"))

                // Migrating: the key moves to the target first, the slot later (what redis-cli --cluster reshard does).
                let number = RESPArgument.int(Int64(slot.rawValue))
                _ = try await direct(target, RedisCommand("CLUSTER", ["SETSLOT", number, "IMPORTING", .string(sourceID)]))
                _ = try await direct(source, RedisCommand("CLUSTER", ["SETSLOT", number, "MIGRATING", .string(targetID)]))
                _ = try await direct(source, RedisCommand("MIGRATE", ["127.0.0.1", .int(Int64(target.port)), "", 0, 5000, "KEYS", "{m}x"]))
                // The source answers ASK for the moved key (and for a new one): the client asks the target, once each.
                #expect(try await client.send(RedisCommand("GET", ["{m}x"])).string == "before")
                #expect(try await client.send(RedisCommand("SET", ["{m}y", "new"])) == .simpleString("OK"))
                #expect(client.slotMap?.master(for: slot)?.port == source.port, "ASK must not change the map")
                #expect(try await direct(target, RedisCommand("CLUSTER", ["COUNTKEYSINSLOT", number])) == .integer(2))

                // Migrated: every node is told the target owns the slot; the source now answers MOVED.
                for node in cluster.nodes {
                    _ = try await direct(node, RedisCommand("CLUSTER", ["SETSLOT", number, "NODE", .string(targetID)]))
                }
                #expect(try await client.send(RedisCommand("GET", ["{m}y"])).string == "new")
                try await eventually("the client's map shows the move") { client.slotMap?.master(for: slot)?.port == target.port }
                #expect(try await client.send(RedisCommand("GET", ["{m}x"])).string == "before")
            }
        }

        @Test func aKilledMasterIsReplacedByItsReplicaWithBoundedClearErrorsMeanwhile() async throws {
            let cluster = try await RedisClusterProcess.start(masters: 3, replicasPerMaster: 1)
            defer { cluster.stop() }
            var configuration = cluster.configuration()
            configuration.refreshInterval = .seconds(1)
            let client = RedisClusterClient(configuration: configuration, logger: logger)
            try await withRunning(client) { _ async throws in
                let slot = HashSlot(key: "f")
                let master = try #require(cluster.nodes.first { $0.port == client.slotMap?.master(for: slot)?.port })
                #expect(try await client.send(RedisCommand("SET", ["{f}k", "before"])) == .simpleString("OK"))
                await master.kill()

                // Until the replica is promoted (the nodes notice within the 2 s node timeout), calls fail within
                // their deadline, saying which slot and why; then they succeed on the new master.
                var errors: [RedisClientError] = []
                let start = ContinuousClock.now
                while ContinuousClock.now - start < .seconds(20) {
                    let callStart = ContinuousClock.now
                    do {
                        _ = try await client.send(RedisCommand("SET", ["{f}k", "after"]))
                        break
                    } catch let error as RedisClientError {
                        errors.append(error)
                        #expect(ContinuousClock.now - callStart < .milliseconds(1500))
                    }
                    try await Task.sleep(for: .milliseconds(50))
                }
                #expect(try await client.send(RedisCommand("GET", ["{f}k"])).string == "after")
                let newMaster = client.slotMap?.master(for: slot)
                #expect(newMaster != nil && newMaster?.port != master.port)
                // The dead master, still listed by the nodes as a failed one, gets no client.
                try await eventually("the old master leaves the map") { client.slotMap?.masters.contains { $0.port == master.port } == false }
                #expect(!errors.isEmpty)
                for error in errors {
                    // Sent before the loss was noticed: ambiguous, so not retried; else given up on, naming the slot.
                    #expect(error.code == .unavailable || error.code == .connectionClosed, "\(error)")
                    if error.code == .unavailable {
                        #expect(error.message.hasPrefix("gave up on SET (slot \(slot))"), "\(error)")
                    }
                }
            }
        }
    }
}
