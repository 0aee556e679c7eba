import NIOCore
import NIOPosix
import Synchronization

@testable import RESP

/// A few scripted cluster nodes on 127.0.0.1, for the cluster client's tests: each answers `HELLO`, `ASKING` and
/// `CLUSTER SHARDS` (from the slot ranges the test assigns) itself, and every other command as its script says.
final class FakeCluster: Sendable {
    let nodes: [FakeClusterNode]
    /// The port of the node serving each slot (0: none), as `CLUSTER SHARDS` tells; it may be a port nobody listens on.
    private let owners: Mutex<[Int]>

    private init(nodes: [FakeClusterNode]) {
        self.nodes = nodes
        self.owners = Mutex(Array(repeating: 0, count: HashSlot.count))
    }

    /// Starts `count` nodes, each on a free port; no slot is assigned yet.
    static func start(nodes count: Int) async throws -> FakeCluster {
        let cluster = FakeCluster(nodes: try await (0..<count).asyncMap { index in try await FakeClusterNode.start(name: "node\(index)") })
        for node in cluster.nodes {
            node.cluster.withLock { $0 = cluster }
        }
        return cluster
    }

    /// Makes `CLUSTER SHARDS` say that the node on `port` serves `slots` (and nothing else does).
    func assign(_ slots: ClosedRange<UInt16>, toPort port: Int) {
        self.owners.withLock { owners in
            for slot in slots {
                owners[Int(slot)] = port
            }
        }
    }

    func assign(_ slots: ClosedRange<UInt16>, to node: Int) {
        self.assign(slots, toPort: self.nodes[node].port)
    }

    /// The `CLUSTER SHARDS` reply (RESP3 maps) for the current assignment.
    func shardsReply() -> RESPValue {
        let owners = self.owners.withLock { $0 }
        var ranges: [Int: [ClosedRange<UInt16>]] = [:]
        var start = 0
        for slot in 1...owners.count where slot == owners.count || owners[slot] != owners[start] {
            if owners[start] != 0 {
                ranges[owners[start], default: []].append(UInt16(start)...UInt16(slot - 1))
            }
            start = slot
        }
        func bulk(_ text: String) -> RESPValue { .bulkString(ByteBuffer(string: text)) }
        return .array(
            ranges.sorted { $0.key < $1.key }.map { port, slots in
                let node = RESPValue.map([
                    bulk("id"): bulk(String(repeating: String(port % 10), count: 40)), bulk("port"): .integer(Int64(port)),
                    bulk("ip"): bulk("127.0.0.1"), bulk("endpoint"): bulk("127.0.0.1"), bulk("role"): bulk("master"),
                    bulk("replication-offset"): .integer(0), bulk("health"): bulk("online"),
                ])
                return .map([
                    bulk("slots"): .array(slots.flatMap { [RESPValue.integer(Int64($0.lowerBound)), .integer(Int64($0.upperBound))] }),
                    bulk("nodes"): .array([node]),
                ])
            }
        )
    }

    /// `CLUSTER SHARDS` requests received by all nodes.
    var shardsRequests: Int {
        self.nodes.reduce(0) { $0 + $1.count("CLUSTER") }
    }

    func close() async {
        for node in self.nodes {
            await node.close()
        }
    }
}

/// One scripted node. Its script sees each command (name and arguments as text) and whether `ASKING`
/// came just before it on the same connection, and says what to answer, or to answer nothing.
final class FakeClusterNode: Sendable {
    enum Reply: Sendable {
        case value(RESPValue)
        /// No reply at all: the client's deadline expires.
        case swallow
    }

    typealias Script = @Sendable (_ command: [String], _ asking: Bool) -> Reply

    let name: String
    let port: Int
    private let channel: any Channel
    private let script: Mutex<Script>
    private let received: Mutex<[[String]]>
    fileprivate let cluster = Mutex<FakeCluster?>(nil)

    private init(name: String, port: Int, channel: any Channel) {
        self.name = name
        self.port = port
        self.channel = channel
        self.script = Mutex({ command, _ in .value(.error("ERR the test gave no answer to \(command.first ?? "?")")) })
        self.received = Mutex([])
    }

    static func start(name: String) async throws -> FakeClusterNode {
        let box = Mutex<FakeClusterNode?>(nil)
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    guard let node = box.withLock({ $0 }) else { return }
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(RESPDecoder()))
                    try channel.pipeline.syncOperations.addHandler(FakeNodeHandler(node: node))
                }
            }
            .bind(host: "127.0.0.1", port: 0)
            .get()
        let node = FakeClusterNode(name: name, port: channel.localAddress?.port ?? 0, channel: channel)
        box.withLock { $0 = node }
        return node
    }

    var endpoint: RedisConfiguration.Endpoint {
        .tcp(host: "127.0.0.1", port: self.port)
    }

    /// Replaces the script.
    func answer(_ script: @escaping Script) {
        self.script.withLock { $0 = script }
    }

    /// Every command received, `HELLO` and `ASKING` included, in order.
    var commands: [[String]] {
        self.received.withLock { $0 }
    }

    /// How many commands named `name` were received.
    func count(_ name: String) -> Int {
        self.commands.count { $0.first?.uppercased() == name }
    }

    func close() async {
        try? await self.channel.close()
    }

    fileprivate func handle(_ command: [String], asking: Bool) -> Reply {
        self.received.withLock { $0.append(command) }
        switch command.first?.uppercased() {
        case "HELLO":
            return .value(.map([.bulkString(ByteBuffer(string: "proto")): .integer(3)]))
        case "ASKING":
            return .value(.simpleString("OK"))
        case "CLUSTER" where command.count == 2 && command[1].uppercased() == "SHARDS":
            return .value(self.cluster.withLock { $0 }?.shardsReply() ?? .error("ERR no cluster"))
        default:
            return self.script.withLock { $0 }(command, asking)
        }
    }
}

/// Reads commands off one client connection and writes the node's answers.
private final class FakeNodeHandler: ChannelInboundHandler {
    typealias InboundIn = RESPFrame
    typealias OutboundOut = ByteBuffer

    let node: FakeClusterNode
    /// The previous command on this connection was ASKING.
    var asking = false

    init(node: FakeClusterNode) {
        self.node = node
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .reply(let value) = self.unwrapInboundIn(data), let parts = value.array?.compactMap(\.string), !parts.isEmpty else {
            return
        }
        let reply = self.node.handle(parts, asking: self.asking)
        self.asking = parts[0].uppercased() == "ASKING"
        if case .value(let answer) = reply {
            var buffer = context.channel.allocator.buffer(capacity: 64)
            buffer.writeRESPValue(answer)
            context.writeAndFlush(self.wrapOutboundOut(buffer), promise: nil)
        }
    }
}

extension Sequence {
    fileprivate func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var results: [T] = []
        for element in self {
            results.append(try await transform(element))
        }
        return results
    }
}
