import Logging
import RESP
import ServiceLifecycle

/// Where the gate's Redis lives: one server, or a Redis Cluster.
///
/// The HTTP layer and the CLI choose a deployment and run its client; only this module knows
/// the wire client (`RESP`) underneath.
public enum RedisDeployment: Sendable {
    case server(RedisConfiguration)
    case cluster(RedisClusterConfiguration)

    /// A URL that does not name a usable Redis; `message` says why (never echoing a password).
    public struct InvalidURL: Error, CustomStringConvertible, Sendable {
        public let message: String
        public var description: String { self.message }
    }

    /// One server: `redis://[user:password@]host[:port][/db]` or `unix:///path`.
    public init(serverURL: String) throws(InvalidURL) {
        do {
            self = .server(try RedisConfiguration(url: serverURL))
        } catch {
            throw InvalidURL(message: Self.message(of: error))
        }
    }

    /// A cluster, from its seed nodes' URLs, comma-separated (spaces ignored).
    public init(clusterURLs: String) throws(InvalidURL) {
        let urls = clusterURLs.split(separator: ",").map { String($0.filter { $0 != " " }) }
        do {
            self = .cluster(try RedisClusterConfiguration(urls: urls))
        } catch {
            throw InvalidURL(message: Self.message(of: error))
        }
    }

    /// A client for it, not yet running: add it to a `ServiceGroup`.
    public func makeClient(logger: Logger) -> RedisService {
        switch self {
        case .server(let configuration): RedisService(RedisClient(configuration: configuration, logger: logger))
        case .cluster(let configuration): RedisService(RedisClusterClient(configuration: configuration, logger: logger))
        }
    }

    private static func message(of error: any Error) -> String {
        (error as? RedisClientError)?.message ?? "\(error)"
    }
}

/// A running Redis client of either kind: the `Service` to run, and what ``RedisGate``,
/// ``OutboxRelay``, ``Reconciler`` and ``OutboxBacklog`` send their commands through.
public struct RedisService: RedisCommandSender, Service {
    let client: any RedisCommandSender & Service

    init(_ client: any RedisCommandSender & Service) {
        self.client = client
    }

    public func send(_ command: RedisCommand) async throws -> RESPValue {
        try await self.client.send(command)
    }

    public func pipeline(_ commands: [RedisCommand]) async throws -> [RESPValue] {
        try await self.client.pipeline(commands)
    }

    public var isConnected: Bool { self.client.isConnected }

    public func run() async throws {
        try await self.client.run()
    }
}
