import NIOCore

/// One argument of a command; every argument goes to Redis as a bulk string.
public enum RESPArgument: Sendable, Hashable, ExpressibleByStringLiteral, ExpressibleByIntegerLiteral {
    case string(String)
    case bytes(ByteBuffer)
    /// Sent as its decimal text, which is how Redis reads numbers.
    case int(Int64)

    public init(stringLiteral value: String) {
        self = .string(value)
    }

    public init(integerLiteral value: Int64) {
        self = .int(value)
    }
}

/// A Redis command: its name and arguments, e.g. `RedisCommand("INCR", ["counter"])`.
public struct RedisCommand: Sendable, Hashable {
    /// The command name as sent, e.g. `EVALSHA`.
    public let name: String
    public let arguments: [RESPArgument]

    public init(_ name: String, _ arguments: [RESPArgument] = []) {
        self.name = name
        self.arguments = arguments
    }
}

extension RedisCommand: CustomStringConvertible {
    /// The name and argument count only: arguments may hold passwords or user data, and this text ends up in logs.
    public var description: String {
        "\(self.name) (\(self.arguments.count) arguments)"
    }
}

// MARK: Connection set-up commands

extension RedisCommand {
    /// `HELLO 3 [AUTH username password]`: switches the connection to RESP3 and authenticates in one round trip.
    static func hello(username: String?, password: String?) -> RedisCommand {
        guard let password else {
            return RedisCommand("HELLO", ["3"])
        }
        return RedisCommand("HELLO", ["3", "AUTH", .string(username ?? "default"), .string(password)])
    }

    /// `AUTH [username] password` (RESP2 servers).
    static func auth(username: String?, password: String) -> RedisCommand {
        guard let username else {
            return RedisCommand("AUTH", [.string(password)])
        }
        return RedisCommand("AUTH", [.string(username), .string(password)])
    }

    static func select(database: Int) -> RedisCommand {
        RedisCommand("SELECT", [.int(Int64(database))])
    }
}

// MARK: Encoding

extension ByteBuffer {
    /// Writes `command` as Redis expects commands: an array of bulk strings.
    mutating func writeRedisCommand(_ command: RedisCommand) {
        self.writeRESPLine(prefix: "*", String(command.arguments.count + 1))
        self.writeRESPLine(prefix: "$", String(command.name.utf8.count))
        self.writeRESPLine(prefix: "", command.name)
        for argument in command.arguments {
            switch argument {
            case .string(let string):
                self.writeRESPLine(prefix: "$", String(string.utf8.count))
                self.writeRESPLine(prefix: "", string)
            case .bytes(let bytes):
                self.writeRESPBulkString(bytes)
            case .int(let integer):
                let text = String(integer)
                self.writeRESPLine(prefix: "$", String(text.utf8.count))
                self.writeRESPLine(prefix: "", text)
            }
        }
    }
}
