import RESP
import Synchronization

/// A Lua script run with EVALSHA; its SHA is learned on first use, and a server that does not
/// have it (NOSCRIPT) is sent EVAL with the source instead.
final class LuaScript: Sendable {
    let name: String
    let source: String
    private let sha = Mutex<String?>(nil)

    init(name: String, source: String) {
        self.name = name
        self.source = source
    }

    /// Runs the script: one round trip once its SHA is known. On NOSCRIPT (a restart, `SCRIPT FLUSH`,
    /// or a cluster node that never saw it) the same call goes as EVAL with the source, which that
    /// node, the one owning the keys, then keeps for the next EVALSHA.
    func run(on redis: any RedisCommandSender, keys: [String], arguments: [RESPArgument]) async throws -> RESPValue {
        let sha = try await self.knownSHA(on: redis)
        do {
            return try await redis.send(Self.command("EVALSHA", sha, keys: keys, arguments: arguments))
        } catch let error as RedisClientError where error.code == .serverError && error.message.hasPrefix("NOSCRIPT") {
            return try await redis.send(Self.command("EVAL", self.source, keys: keys, arguments: arguments))
        }
    }

    /// Runs the script and `next` back to back on one connection (one write), and returns both
    /// replies. `WAIT` after the script this way waits for the script's own writes.
    func run(
        on redis: any RedisCommandSender,
        keys: [String],
        arguments: [RESPArgument],
        then next: RedisCommand
    ) async throws -> (RESPValue, RESPValue) {
        let sha = try await self.knownSHA(on: redis)
        var replies = try await redis.pipeline([Self.command("EVALSHA", sha, keys: keys, arguments: arguments), next])
        if replies.count == 2, case .error(let message) = replies[0], message.hasPrefix("NOSCRIPT") {
            replies = try await redis.pipeline([Self.command("EVAL", self.source, keys: keys, arguments: arguments), next])
        }
        guard replies.count == 2 else {
            throw RedisClientError(.protocolError, message: "a pipeline of 2 commands answered \(replies.count) replies")
        }
        if case .error(let message) = replies[0] {
            throw RedisClientError(.serverError, message: message)
        }
        return (replies[0], replies[1])
    }

    /// The script's SHA1, learned once with SCRIPT LOAD (any server answers the same).
    private func knownSHA(on redis: any RedisCommandSender) async throws -> String {
        if let sha = self.sha.withLock({ $0 }) { return sha }
        let loaded = try await redis.send(RedisCommand("SCRIPT", ["LOAD", .string(self.source)]))
        guard let sha = loaded.string else {
            throw RedisClientError(.protocolError, message: "SCRIPT LOAD of \(self.name) answered \(loaded)")
        }
        self.sha.withLock { $0 = sha }
        return sha
    }

    /// `EVALSHA sha numkeys key… arg…` or `EVAL source …`, built in one array (this runs for every
    /// apply that reaches Redis).
    private static func command(_ name: String, _ script: String, keys: [String], arguments: [RESPArgument]) -> RedisCommand {
        var all: [RESPArgument] = []
        all.reserveCapacity(2 + keys.count + arguments.count)
        all.append(.string(script))
        all.append(.int(Int64(keys.count)))
        for key in keys { all.append(.string(key)) }
        all.append(contentsOf: arguments)
        return RedisCommand(name, all)
    }
}
