import NIOCore

/// Where a cluster client sends a command.
enum ClusterRouting: Sendable, Hashable {
    /// To the master that owns this key's hash slot.
    case key(RESPArgument)
    /// To any master: the command touches no key (PING, TIME, INFO…).
    case anyMaster
    /// To every master: the command changes per-node state every node must share (SCRIPT LOAD, FUNCTION LOAD, FLUSHALL).
    case allMasters
}

extension RedisCommand {
    /// The key that decides which cluster node runs the command, or nil when the command touches no key.
    ///
    /// A command with several keys is routed by its first one; Redis refuses it (`CROSSSLOT`) unless all of its
    /// keys share a slot, which a common hash tag ensures (`{c:42}:meta`, `{c:42}:issued`).
    public var routingKey: RESPArgument? {
        if case .key(let key) = self.clusterRouting {
            return key
        }
        return nil
    }

    /// The hash slot of `routingKey`; nil for a command with no key.
    public var hashSlot: HashSlot? {
        self.routingKey.map { HashSlot(key: $0) }
    }

    /// How the cluster client routes this command, from a small table of the commands whose key is not their
    /// first argument or that have none. Any other command is taken to have its key first (GET, SET, HGET, XADD…).
    var clusterRouting: ClusterRouting {
        let name = self.name.uppercased()
        switch name {
        case "EVAL", "EVALSHA", "EVAL_RO", "EVALSHA_RO", "FCALL", "FCALL_RO":
            // script-or-function numkeys key… arg…
            return self.key(afterCountAt: 1)
        case "ZUNION", "ZINTER", "ZDIFF", "ZINTERCARD", "SINTERCARD", "LMPOP", "ZMPOP":
            // numkeys key…
            return self.key(afterCountAt: 0)
        case "BLMPOP", "BZMPOP":
            // timeout numkeys key…
            return self.key(afterCountAt: 1)
        case "XREAD", "XREADGROUP":
            // [GROUP g c] [COUNT n] [BLOCK ms] [NOACK] STREAMS key… id…
            guard let streams = self.arguments.firstIndex(where: { $0.isWord("STREAMS") }), streams + 1 < self.arguments.count else {
                return .anyMaster
            }
            return .key(self.arguments[streams + 1])
        case "XGROUP", "XINFO", "OBJECT", "BITOP":
            // A subcommand (or operation) first, then the key: XGROUP CREATE key …, XINFO GROUPS key, BITOP AND dest …
            return self.arguments.count >= 2 ? .key(self.arguments[1]) : .anyMaster
        case "MEMORY":
            return self.arguments.count >= 2 && self.arguments[0].isWord("USAGE") ? .key(self.arguments[1]) : .anyMaster
        case "SCRIPT":
            return self.arguments.first.map { $0.isWord("LOAD") || $0.isWord("FLUSH") } == true ? .allMasters : .anyMaster
        case "FUNCTION":
            let changesLibraries = self.arguments.first.map { argument in
                ["LOAD", "DELETE", "FLUSH", "RESTORE"].contains { argument.isWord($0) }
            }
            return changesLibraries == true ? .allMasters : .anyMaster
        case "FLUSHALL", "FLUSHDB":
            return .allMasters
        case "PING", "ECHO", "TIME", "INFO", "CLUSTER", "HELLO", "AUTH", "SELECT", "CLIENT", "CONFIG", "COMMAND", "DBSIZE",
            "DEBUG", "MULTI", "EXEC", "DISCARD", "UNWATCH", "ASKING", "READONLY", "READWRITE", "WAIT", "WAITAOF", "LATENCY",
            "SLOWLOG", "ROLE", "LASTSAVE", "SAVE", "BGSAVE", "BGREWRITEAOF", "SHUTDOWN", "PUBLISH", "SUBSCRIBE", "UNSUBSCRIBE",
            "PSUBSCRIBE", "PUNSUBSCRIBE", "PUBSUB", "RANDOMKEY", "SCAN", "KEYS", "ACL", "MODULE", "LOLWUT", "QUIT", "RESET",
            "SWAPDB", "MONITOR", "FAILOVER", "REPLICAOF", "SLAVEOF":
            return .anyMaster
        default:
            return self.arguments.first.map { .key($0) } ?? .anyMaster
        }
    }

    /// The first key of a command whose keys follow a count at `index`; no key when the count is 0 or unreadable.
    private func key(afterCountAt index: Int) -> ClusterRouting {
        guard index + 1 < self.arguments.count, let count = self.arguments[index].integerValue, count > 0 else {
            return .anyMaster
        }
        return .key(self.arguments[index + 1])
    }
}

extension RESPArgument {
    /// Whether the argument is `word`, ignoring case (Redis reads keywords case-insensitively).
    fileprivate func isWord(_ word: String) -> Bool {
        switch self {
        case .string(let string): string.utf8.count == word.utf8.count && string.uppercased() == word
        case .bytes(let bytes): bytes.readableBytes == word.utf8.count && String(buffer: bytes).uppercased() == word
        case .int: false
        }
    }

    /// The argument as an integer, as Redis would read it.
    fileprivate var integerValue: Int64? {
        switch self {
        case .int(let integer): integer
        case .string(let string): Int64(string)
        case .bytes(let bytes): bytes.readableBytes <= 20 ? Int64(String(buffer: bytes)) : nil
        }
    }
}
