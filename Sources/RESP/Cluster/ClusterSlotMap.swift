/// Which master serves each hash slot of a Redis Cluster, and its replicas: the cluster's answer to
/// `CLUSTER SHARDS` (Redis 7) or `CLUSTER SLOTS` (older servers), as a plain value.
public struct ClusterSlotMap: Sendable, Equatable {
    /// A node of the cluster, as the node that was asked describes it.
    public struct Node: Sendable, Hashable, CustomStringConvertible {
        /// The node's 40-character id; nil when the reply did not give it.
        public var id: String?
        public var host: String
        public var port: Int

        public init(id: String?, host: String, port: Int) {
            self.id = id
            self.host = host
            self.port = port
        }

        /// Where to connect to the node.
        public var endpoint: RedisConfiguration.Endpoint {
            .tcp(host: self.host, port: self.port)
        }

        public var description: String {
            self.endpoint.description
        }
    }

    /// A master, the slots it serves and its replicas.
    public struct Shard: Sendable, Hashable {
        /// The slot ranges served, in the order the reply gave them.
        public var slots: [ClosedRange<UInt16>]
        public var master: Node
        public var replicas: [Node]

        public init(slots: [ClosedRange<UInt16>], master: Node, replicas: [Node] = []) {
            self.slots = slots
            self.master = master
            self.replicas = replicas
        }
    }

    /// Every shard the reply listed, including masters that serve no slot (yet), in slot order (by the first
    /// slot each serves; those serving none last), so replies listing them in another order give equal maps.
    public let shards: [Shard]
    /// The index in `shards` of the owner of each slot, -1 for a slot no master serves.
    private let owners: [Int16]

    /// Builds a map from shards; a slot claimed by two shards (a malformed reply) goes to one of them.
    public init(shards unordered: [Shard]) {
        let shards = unordered.sorted { lhs, rhs in
            let (left, right) = (lhs.slots.map(\.lowerBound).min() ?? .max, rhs.slots.map(\.lowerBound).min() ?? .max)
            return left != right ? left < right : lhs.master.description < rhs.master.description
        }
        var owners = [Int16](repeating: -1, count: HashSlot.count)
        for (index, shard) in shards.enumerated() {
            for range in shard.slots {
                // Clamped, so a malformed range can never index past the table.
                let lower = Int(range.lowerBound)
                let upper = min(Int(range.upperBound), HashSlot.count - 1)
                guard lower <= upper else { continue }
                for slot in lower...upper {
                    owners[slot] = Int16(truncatingIfNeeded: index)
                }
            }
        }
        self.shards = shards
        self.owners = owners
    }

    /// The master serving `slot`, or nil when none does (the cluster is down for it, or a resharding left it out).
    public func master(for slot: HashSlot) -> Node? {
        self.shard(for: slot)?.master
    }

    /// The replicas of the master serving `slot`.
    public func replicas(for slot: HashSlot) -> [Node] {
        self.shard(for: slot)?.replicas ?? []
    }

    /// Every master, once each, in the order of `shards`.
    public var masters: [Node] {
        var seen = Set<Node>()
        return self.shards.map(\.master).filter { seen.insert($0).inserted }
    }

    /// How many of the 16,384 slots have a master.
    public var coveredSlotCount: Int {
        self.owners.count { $0 >= 0 }
    }

    private func shard(for slot: HashSlot) -> Shard? {
        let index = Int(self.owners[Int(slot.rawValue)])
        return index >= 0 && index < self.shards.count ? self.shards[index] : nil
    }
}

// MARK: Parsing the replies

extension ClusterSlotMap {
    /// Reads a `CLUSTER SHARDS` reply, RESP3 (maps) or RESP2 (flat key–value arrays).
    ///
    /// A shard's master is its node with role `master`, preferring one whose health is not `failed`
    /// (after a failover the old master may still be listed); failed replicas, and failed masters that serve
    /// no slot, are left out.
    /// - Parameter askedHost: the host of the node that answered, used for a node whose address is unknown.
    /// - Throws: `RedisClientError(.protocolError)` when the reply is not shaped like one.
    public init(shardsReply reply: RESPValue, askedHost: String) throws {
        guard let entries = reply.array else {
            throw Self.invalid("CLUSTER SHARDS", "expected an array of shards, got \(reply)")
        }
        var shards: [Shard] = []
        for entry in entries {
            guard let fields = Self.fields(of: entry), let slotNumbers = fields["slots"]?.array, let nodeEntries = fields["nodes"]?.array else {
                throw Self.invalid("CLUSTER SHARDS", "a shard without slots and nodes: \(entry)")
            }
            guard slotNumbers.count.isMultiple(of: 2) else {
                throw Self.invalid("CLUSTER SHARDS", "an odd number of slot bounds: \(entry)")
            }
            var ranges: [ClosedRange<UInt16>] = []
            for index in stride(from: 0, to: slotNumbers.count, by: 2) {
                ranges.append(try Self.range(slotNumbers[index], slotNumbers[index + 1], in: "CLUSTER SHARDS"))
            }

            var masters: [(node: Node, failed: Bool)] = []
            var replicas: [Node] = []
            for nodeEntry in nodeEntries {
                guard let node = Self.fields(of: nodeEntry) else {
                    throw Self.invalid("CLUSTER SHARDS", "a node that is not a map: \(nodeEntry)")
                }
                guard let port = node["port"]?.int, (1...65535).contains(port) else {
                    throw Self.invalid("CLUSTER SHARDS", "a node without a valid port: \(nodeEntry)")
                }
                let host = Self.usableHost(node["endpoint"]) ?? Self.usableHost(node["ip"]) ?? askedHost
                let parsed = Node(id: node["id"]?.string, host: host, port: Int(port))
                // The documentation says `failed`; Redis 7.0 sends `fail`.
                let failed = ["fail", "failed"].contains(node["health"]?.string)
                if node["role"]?.string == "master" {
                    masters.append((parsed, failed))
                } else if !failed {
                    replicas.append(parsed)
                }
            }
            // A shard whose master is not listed (a node being removed) serves nothing we can reach, and a failed
            // master without slots is one a failover replaced: no client should keep calling it.
            guard let master = masters.first(where: { !$0.failed }) ?? masters.first, !(master.failed && ranges.isEmpty) else { continue }
            shards.append(Shard(slots: ranges, master: master.node, replicas: replicas))
        }
        self.init(shards: shards)
    }

    /// Reads a `CLUSTER SLOTS` reply: `[start, end, [host, port, id, …], replica…]` per range.
    /// Ranges with the same master are gathered into one shard.
    /// - Parameter askedHost: the host of the node that answered, used where the reply gives none.
    /// - Throws: `RedisClientError(.protocolError)` when the reply is not shaped like one.
    public init(slotsReply reply: RESPValue, askedHost: String) throws {
        guard let entries = reply.array else {
            throw Self.invalid("CLUSTER SLOTS", "expected an array of slot ranges, got \(reply)")
        }
        var shards: [Shard] = []
        var shardIndex: [Node: Int] = [:]
        for entry in entries {
            guard let parts = entry.array, parts.count >= 3 else {
                throw Self.invalid("CLUSTER SLOTS", "a slot range with fewer than 3 elements: \(entry)")
            }
            let range = try Self.range(parts[0], parts[1], in: "CLUSTER SLOTS")
            let nodes = try parts[2...].map { try Self.slotsNode($0, askedHost: askedHost) }
            let master = nodes[0]
            if let index = shardIndex[master] {
                shards[index].slots.append(range)
                for replica in nodes.dropFirst() where !shards[index].replicas.contains(replica) {
                    shards[index].replicas.append(replica)
                }
            } else {
                shardIndex[master] = shards.count
                shards.append(Shard(slots: [range], master: master, replicas: Array(nodes.dropFirst())))
            }
        }
        self.init(shards: shards)
    }

    /// `[host, port, id, …]`; an empty or null host (an older server speaking of itself) is the asked host.
    private static func slotsNode(_ value: RESPValue, askedHost: String) throws -> Node {
        guard let parts = value.array, parts.count >= 2, let port = parts[1].int, (1...65535).contains(port) else {
            throw Self.invalid("CLUSTER SLOTS", "a node that is not [host, port, …]: \(value)")
        }
        let id = parts.count >= 3 ? parts[2].string : nil
        return Node(id: id, host: Self.usableHost(parts[0]) ?? askedHost, port: Int(port))
    }

    /// The host named by `value`, or nil when it names none: absent, null, empty, or `?` (unknown hostname).
    private static func usableHost(_ value: RESPValue?) -> String? {
        guard let host = value?.string, !host.isEmpty, host != "?" else { return nil }
        return host
    }

    private static func range(_ start: RESPValue, _ end: RESPValue, in command: String) throws -> ClosedRange<UInt16> {
        guard let lower = start.int, let upper = end.int, lower >= 0, lower <= upper, upper < HashSlot.count else {
            throw Self.invalid(command, "an invalid slot range \(start)-\(end)")
        }
        return UInt16(lower)...UInt16(upper)
    }

    /// The fields of a RESP3 map or of a RESP2 flat array of alternating names and values.
    private static func fields(of value: RESPValue) -> [String: RESPValue]? {
        var fields: [String: RESPValue] = [:]
        switch value {
        case .map(let map):
            for (key, value) in map {
                guard let name = key.string else { return nil }
                fields[name] = value
            }
        case .array(let elements):
            guard elements.count.isMultiple(of: 2) else { return nil }
            for index in stride(from: 0, to: elements.count, by: 2) {
                guard let name = elements[index].string else { return nil }
                fields[name] = elements[index + 1]
            }
        default:
            return nil
        }
        return fields
    }

    private static func invalid(_ command: String, _ problem: String) -> RedisClientError {
        RedisClientError(.protocolError, message: "unexpected \(command) reply: \(problem)")
    }
}
