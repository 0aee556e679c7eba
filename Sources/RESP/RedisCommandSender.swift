/// Something that runs Redis commands: a `RedisClient` (one server) or a `RedisClusterClient` (a cluster),
/// so code that sends commands works with either.
public protocol RedisCommandSender: Sendable {
    /// Sends one command and returns its reply; an error reply is thrown as `RedisClientError(.serverError)`.
    func send(_ command: RedisCommand) async throws -> RESPValue

    /// Sends several commands and returns their replies in order; error replies are returned as `.error` values.
    func pipeline(_ commands: [RedisCommand]) async throws -> [RESPValue]

    /// Whether commands can be sent now (a connection is up).
    var isConnected: Bool { get }
}

extension RedisClient: RedisCommandSender {}
