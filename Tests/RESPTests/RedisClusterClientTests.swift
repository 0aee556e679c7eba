import CouponTestSupport
import LocalServers
import Logging
import NIOCore
import Synchronization
import Testing

@testable import RESP

private let logger = Logger(label: "RESPTests")

/// A cluster client for `cluster`, seeded with its first node, without periodic refreshes. The deadline is long
/// by default, so that only the redirection bound limits retries even on a busy machine.
private func clusterClient(_ cluster: FakeCluster, commandTimeout: Duration = .seconds(5)) -> RedisClusterClient {
    var node = RedisConfiguration(endpoint: cluster.nodes[0].endpoint)
    node.commandTimeout = commandTimeout
    node.connectionCount = 1
    node.reconnectDelay = (initial: .milliseconds(10), maximum: .milliseconds(50))
    var configuration = RedisClusterConfiguration(seeds: [cluster.nodes[0].endpoint], node: node)
    configuration.refreshInterval = .seconds(60)
    return RedisClusterClient(configuration: configuration, logger: logger)
}

private func bulk(_ text: String) -> RESPValue {
    .bulkString(ByteBuffer(string: text))
}

/// The cluster client against scripted nodes (`FakeCluster`): routing, MOVED, ASK, retries and their bounds.
@Suite struct RedisClusterClientTests {
    @Test func movedIsFollowedAndRefreshesTheMap() async throws {
        let cluster = try await FakeCluster.start(nodes: 2)
        let (a, b) = (cluster.nodes[0], cluster.nodes[1])
        cluster.assign(0...16383, to: 0)
        let slot = HashSlot(key: "k")
        a.answer { _, _ in .value(.error("MOVED \(slot) 127.0.0.1:\(b.port)")) }
        b.answer { command, _ in .value(bulk("b has \(command[1])")) }
        let client = clusterClient(cluster)
        try await withRunning(client) { _ async throws in
            let refreshes = cluster.shardsRequests
            // The slot really moved: the next map says so.
            cluster.assign(slot.rawValue...slot.rawValue, to: 1)
            #expect(try await client.send(RedisCommand("GET", ["k"])) == bulk("b has k"))
            #expect(a.count("GET") == 1)
            #expect(b.count("GET") == 1)
            try await eventually("the map is refreshed") { client.slotMap?.master(for: slot)?.port == b.port }
            #expect(cluster.shardsRequests > refreshes)
            // Straight to the new owner now.
            #expect(try await client.send(RedisCommand("GET", ["k"])) == bulk("b has k"))
            #expect(a.count("GET") == 1)
            #expect(b.count("GET") == 2)
        }
        await cluster.close()
    }

    @Test func askSendsAskingFirstAndLeavesTheMapAlone() async throws {
        let cluster = try await FakeCluster.start(nodes: 2)
        let (a, b) = (cluster.nodes[0], cluster.nodes[1])
        cluster.assign(0...16383, to: 0)
        let slot = HashSlot(key: "k")
        a.answer { _, _ in .value(.error("ASK \(slot) 127.0.0.1:\(b.port)")) }
        // As Redis does: an importing node serves the key only right after ASKING.
        b.answer { command, asking in asking ? .value(bulk("b has \(command[1])")) : .value(.error("MOVED \(slot) 127.0.0.1:\(a.port)")) }
        let client = clusterClient(cluster)
        try await withRunning(client) { _ async throws in
            try await Task.sleep(for: .milliseconds(150))  // past the first refresh's spacing
            let refreshes = cluster.shardsRequests
            #expect(try await client.send(RedisCommand("GET", ["k"])) == bulk("b has k"))
            #expect(b.commands.filter { $0[0] != "HELLO" } == [["ASKING"], ["GET", "k"]])
            try await Task.sleep(for: .milliseconds(300))
            #expect(cluster.shardsRequests == refreshes, "ASK must not refresh the map")
            #expect(client.slotMap?.master(for: slot)?.port == a.port)
            // The next command for the slot still goes to its owner first.
            #expect(try await client.send(RedisCommand("GET", ["k"])) == bulk("b has k"))
            #expect(a.count("GET") == 2)
            #expect(b.count("ASKING") == 2)
        }
        await cluster.close()
    }

    @Test func redirectionsAreBoundedAndEndInAClearError() async throws {
        let cluster = try await FakeCluster.start(nodes: 2)
        let (a, b) = (cluster.nodes[0], cluster.nodes[1])
        cluster.assign(0...16383, to: 0)
        let slot = HashSlot(key: "k")
        // Two nodes that each say the other owns the slot.
        a.answer { _, _ in .value(.error("MOVED \(slot) 127.0.0.1:\(b.port)")) }
        b.answer { _, _ in .value(.error("MOVED \(slot) 127.0.0.1:\(a.port)")) }
        let client = clusterClient(cluster)
        try await withRunning(client) { _ async throws in
            let start = ContinuousClock.now
            let error = await clientError { try await client.send(RedisCommand("GET", ["k"])) }
            #expect(error?.code == .unavailable)
            #expect(
                error?.message == "gave up on GET (slot \(slot)) after 6 attempts: slot \(slot) moved to 127.0.0.1:\(a.port)",
                "\(String(describing: error))"
            )
            #expect(a.count("GET") + b.count("GET") == 6)
            #expect(ContinuousClock.now - start < .seconds(5))
        }
        await cluster.close()
    }

    @Test func clusterDownIsRetriedWithinTheDeadlineThenGivenUp() async throws {
        let cluster = try await FakeCluster.start(nodes: 1)
        let a = cluster.nodes[0]
        cluster.assign(0...16383, to: 0)
        a.answer { _, _ in .value(.error("CLUSTERDOWN Hash slot not served")) }
        let client = clusterClient(cluster)
        try await withRunning(client) { _ async throws in
            let start = ContinuousClock.now
            let error = await clientError { try await client.send(RedisCommand("EVALSHA", ["sha", 1, "{c:7}:meta"])) }
            let elapsed = ContinuousClock.now - start
            let slot = HashSlot(key: "c:7")
            #expect(error?.code == .unavailable)
            #expect(
                error?.message
                    == "gave up on EVALSHA (slot \(slot)) after 6 attempts: no master owns slot \(slot) (CLUSTERDOWN Hash slot not served)",
                "\(String(describing: error))"
            )
            #expect(a.count("EVALSHA") == 6)
            // Paused between attempts (10 + 20 + 40 + 80 + 160 ms), within the deadline.
            #expect(elapsed >= .milliseconds(300))
            #expect(elapsed < .seconds(5))
        }
        await cluster.close()
    }

    @Test func tryAgainIsRetriedUntilItSucceeds() async throws {
        let cluster = try await FakeCluster.start(nodes: 1)
        let a = cluster.nodes[0]
        cluster.assign(0...16383, to: 0)
        let calls = Counter()
        a.answer { _, _ in
            calls.increment() <= 2 ? .value(.error("TRYAGAIN Multiple keys request during rehashing of slot")) : .value(.integer(2))
        }
        let client = clusterClient(cluster)
        try await withRunning(client) { _ async throws in
            #expect(try await client.send(RedisCommand("DEL", ["{t}a", "{t}b"])) == .integer(2))
            #expect(a.count("DEL") == 3)
        }
        await cluster.close()
    }

    @Test func anAmbiguousTimeoutIsNeverRetried() async throws {
        let cluster = try await FakeCluster.start(nodes: 2)
        let (a, b) = (cluster.nodes[0], cluster.nodes[1])
        cluster.assign(0...16383, to: 0)
        a.answer { _, _ in .swallow }
        b.answer { _, _ in .value(.simpleString("OK")) }
        let client = clusterClient(cluster, commandTimeout: .milliseconds(300))
        try await withRunning(client) { _ async throws in
            let start = ContinuousClock.now
            let error = await clientError { try await client.send(RedisCommand("INCR", ["counter"])) }
            #expect(error?.code == .timeout)
            #expect(ContinuousClock.now - start < .seconds(2))
            try await Task.sleep(for: .milliseconds(400))
            // Exactly one copy reached a node: the command may have run, so it is the caller's call.
            #expect(a.count("INCR") == 1)
            #expect(b.count("INCR") == 0)
        }
        await cluster.close()
    }

    @Test func anUnreachableOwnerIsRetriedAfterARefresh() async throws {
        let cluster = try await FakeCluster.start(nodes: 2)
        let b = cluster.nodes[1]
        cluster.assign(0...16383, to: 0)
        b.answer { command, _ in .value(bulk("b has \(command[1])")) }
        // The map names a master nobody listens on for key "k"; it fails over to b, which the next map tells.
        let deadPort = try LoopbackPort.free()
        let slot = HashSlot(key: "k")
        cluster.assign(slot.rawValue...slot.rawValue, toPort: deadPort)
        let client = clusterClient(cluster, commandTimeout: .seconds(1))
        try await withRunning(client) { _ async throws in
            #expect(client.slotMap?.master(for: slot)?.port == deadPort)
            cluster.assign(slot.rawValue...slot.rawValue, to: 1)
            #expect(try await client.send(RedisCommand("GET", ["k"])) == bulk("b has k"))
            #expect(client.slotMap?.master(for: slot)?.port == b.port)
        }
        await cluster.close()
    }

    @Test func pipelineIsSplitPerNodeWithRepliesInOrder() async throws {
        let cluster = try await FakeCluster.start(nodes: 2)
        let (a, b) = (cluster.nodes[0], cluster.nodes[1])
        cluster.assign(0...8191, to: 0)
        cluster.assign(8192...16383, to: 1)
        let movedKey = (0..<1000).map { "key\($0)" }.first { HashSlot(key: $0).rawValue < 8192 } ?? "key0"
        let movedSlot = HashSlot(key: movedKey)
        a.answer { command, _ in
            command[1] == movedKey ? .value(.error("MOVED \(movedSlot) 127.0.0.1:\(b.port)")) : .value(bulk("a:\(command[1])"))
        }
        b.answer { command, _ in .value(bulk("b:\(command[1])")) }
        let client = clusterClient(cluster)
        try await withRunning(client) { _ async throws in
            let keys = (0..<40).map { "key\($0)" } + [movedKey]
            let replies = try await client.pipeline(keys.map { RedisCommand("GET", [.string($0)]) } + [RedisCommand("HGET", ["k", "f"])])
            var expected = keys.map { key in
                key != movedKey && HashSlot(key: key).rawValue < 8192 ? bulk("a:\(key)") : bulk("b:\(key)")
            }
            expected.append(HashSlot(key: "k").rawValue < 8192 ? bulk("a:k") : bulk("b:k"))
            #expect(replies == expected)
            // Both nodes were used; the two GETs of the moved key went to a, then again to b.
            #expect(a.count("GET") > 0)
            #expect(b.count("GET") > 0)
            #expect(a.count("GET") + b.count("GET") == keys.count + 2)
            #expect(try await client.pipeline([]) == [])
        }
        await cluster.close()
    }

    @Test func pipelineGivesUpPerCommandAsAnErrorReply() async throws {
        let cluster = try await FakeCluster.start(nodes: 1)
        let a = cluster.nodes[0]
        cluster.assign(0...16383, to: 0)
        a.answer { command, _ in
            command[1] == "down" ? .value(.error("CLUSTERDOWN The cluster is down")) : .value(.error("ERR no such thing"))
        }
        let client = clusterClient(cluster)
        try await withRunning(client) { _ async throws in
            let replies = try await client.pipeline([RedisCommand("GET", ["up"]), RedisCommand("GET", ["down"])])
            #expect(replies.first == .error("ERR no such thing"))
            #expect(replies.last?.description.contains("gave up on GET (slot \(HashSlot(key: "down"))) after 6 attempts: no master owns") == true)
        }
        await cluster.close()
    }

    @Test func scriptLoadGoesToEveryMasterAndKeylessCommandsToAny() async throws {
        let cluster = try await FakeCluster.start(nodes: 3)
        cluster.assign(0...5000, to: 0)
        cluster.assign(5001...10000, to: 1)
        cluster.assign(10001...16383, to: 2)
        for node in cluster.nodes {
            node.answer { command, _ in
                command[0] == "SCRIPT" ? .value(bulk("sha-of-\(command[2])")) : .value(.array([bulk("1700000000"), bulk("0")]))
            }
        }
        let client = clusterClient(cluster)
        try await withRunning(client) { _ async throws in
            try await eventually("every master is connected") { cluster.nodes.allSatisfy { $0.count("HELLO") >= 1 } }
            #expect(try await client.send(RedisCommand("SCRIPT", ["LOAD", "return 1"])) == bulk("sha-of-return 1"))
            #expect(cluster.nodes.map { $0.count("SCRIPT") } == [1, 1, 1])
            for _ in 0..<6 {
                _ = try await client.send(RedisCommand("TIME"))
            }
            #expect(cluster.nodes.map { $0.count("TIME") } == [2, 2, 2])
        }
        await cluster.close()
    }

    @Test func callsFailFastWhenNotRunningOrMisconfigured() async throws {
        let configuration = RedisClusterConfiguration(
            seeds: [.tcp(host: "127.0.0.1", port: 1)],
            node: RedisConfiguration(endpoint: .tcp(host: "x", port: 1))
        )
        let client = RedisClusterClient(configuration: configuration, logger: logger)
        #expect(!client.isConnected)
        let error = await clientError { try await client.send(RedisCommand("GET", ["k"])) }
        #expect(error?.code == .unavailable)
        #expect(error?.message.contains("not running") == true)

        let noSeeds = RedisClusterClient(configuration: RedisClusterConfiguration(seeds: [], node: configuration.node), logger: logger)
        let invalid = await clientError { try await noSeeds.run() }
        #expect(invalid?.code == .invalidConfiguration)
        #expect(throws: RedisClientError.self) { try RedisClusterConfiguration(urls: ["redis://127.0.0.1:7000/2"]) }
        #expect(throws: RedisClientError.self) { try RedisClusterConfiguration(urls: []) }
        let parsed = try RedisClusterConfiguration(urls: ["redis://:pw@10.0.0.1:7000", "redis://10.0.0.2:7001"])
        #expect(parsed.seeds == [.tcp(host: "10.0.0.1", port: 7000), .tcp(host: "10.0.0.2", port: 7001)])
        #expect(parsed.node.password == "pw")
    }

    @Test func withNoNodeReachableCallsFailNamingTheCause() async throws {
        let port = try LoopbackPort.free()
        var node = RedisConfiguration(endpoint: .tcp(host: "127.0.0.1", port: port))
        node.commandTimeout = .seconds(2)
        let client = RedisClusterClient(configuration: RedisClusterConfiguration(seeds: [node.endpoint], node: node), logger: logger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await client.run() }
            try await eventually("the first refresh fails") {
                let error = await clientError { try await client.send(RedisCommand("GET", ["k"])) }
                return error?.message.contains("cannot connect") == true
            }
            let start = ContinuousClock.now
            let error = await clientError { try await client.send(RedisCommand("GET", ["k"])) }
            #expect(error?.code == .unavailable)
            #expect(error?.message.contains("slot map is not known yet") == true, "\(String(describing: error))")
            #expect(error?.message.contains("cannot connect to 127.0.0.1:\(port)") == true, "\(String(describing: error))")
            // At once, as RedisClient does while Redis is unreachable: no retry can route it.
            #expect(ContinuousClock.now - start < .milliseconds(500))
            #expect(!client.isConnected)
            group.cancelAll()
        }
    }
}

/// A thread-safe counter for scripts.
private final class Counter: Sendable {
    private let value = Mutex(0)

    /// Adds one and returns the new value.
    func increment() -> Int {
        self.value.withLock { value in
            value += 1
            return value
        }
    }
}
