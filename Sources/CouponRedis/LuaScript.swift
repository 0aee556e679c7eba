import RESP
import Synchronization

/// A Lua script run with EVALSHA, loaded on first use and again after Redis
/// forgets it (a restart or `SCRIPT FLUSH` answers NOSCRIPT).
final class LuaScript: Sendable {
    let name: String
    let source: String
    private let sha = Mutex<String?>(nil)

    init(name: String, source: String) {
        self.name = name
        self.source = source
    }

    /// Runs the script: one round trip once loaded, two more after a NOSCRIPT.
    func run(on redis: RedisClient, keys: [String], arguments: [RESPArgument]) async throws -> RESPValue {
        if let sha = self.sha.withLock({ $0 }) {
            do {
                return try await redis.send(Self.evalsha(sha, keys: keys, arguments: arguments))
            } catch let error as RedisClientError where error.code == .serverError && error.message.hasPrefix("NOSCRIPT") {
                self.sha.withLock { $0 = nil }
            }
        }
        let loaded = try await redis.send(RedisCommand("SCRIPT", ["LOAD", .string(self.source)]))
        guard let sha = loaded.string else {
            throw RedisClientError(.protocolError, message: "SCRIPT LOAD of \(self.name) answered \(loaded)")
        }
        self.sha.withLock { $0 = sha }
        return try await redis.send(Self.evalsha(sha, keys: keys, arguments: arguments))
    }

    /// Runs the script and `next` back to back on one connection (one write), and returns both
    /// replies. `WAIT` after the script this way waits for the script's own writes.
    func run(on redis: RedisClient, keys: [String], arguments: [RESPArgument], then next: RedisCommand) async throws -> (RESPValue, RESPValue) {
        for attempt in 0..<2 {
            let sha: String
            if let known = self.sha.withLock({ $0 }) {
                sha = known
            } else {
                let loaded = try await redis.send(RedisCommand("SCRIPT", ["LOAD", .string(self.source)]))
                guard let loadedSHA = loaded.string else {
                    throw RedisClientError(.protocolError, message: "SCRIPT LOAD of \(self.name) answered \(loaded)")
                }
                self.sha.withLock { $0 = loadedSHA }
                sha = loadedSHA
            }
            let replies = try await redis.pipeline([Self.evalsha(sha, keys: keys, arguments: arguments), next])
            guard replies.count == 2 else {
                throw RedisClientError(.protocolError, message: "a pipeline of 2 commands answered \(replies.count) replies")
            }
            if case .error(let message) = replies[0] {
                if message.hasPrefix("NOSCRIPT"), attempt == 0 {
                    self.sha.withLock { $0 = nil }
                    continue
                }
                throw RedisClientError(.serverError, message: message)
            }
            return (replies[0], replies[1])
        }
        throw RedisClientError(.serverError, message: "NOSCRIPT after SCRIPT LOAD of \(self.name)")
    }

    /// `EVALSHA sha numkeys key… arg…`, built in one array (this runs for every apply that reaches Redis).
    private static func evalsha(_ sha: String, keys: [String], arguments: [RESPArgument]) -> RedisCommand {
        var all: [RESPArgument] = []
        all.reserveCapacity(2 + keys.count + arguments.count)
        all.append(.string(sha))
        all.append(.int(Int64(keys.count)))
        for key in keys { all.append(.string(key)) }
        all.append(contentsOf: arguments)
        return RedisCommand("EVALSHA", all)
    }
}
