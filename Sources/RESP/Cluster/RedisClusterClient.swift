import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import Synchronization

/// A Redis Cluster client: one `RedisClient` per master, and each command sent to the master that owns its key's
/// hash slot, following the cluster's redirections.
///
/// Add it to a `ServiceGroup` before the services that use it, as a `RedisClient`. While `run()` runs it keeps
/// the cluster's slot map (fetched at start, after a MOVED or a lost connection, and every `refreshInterval`) and
/// a client per master, started and stopped as masters come and go.
///
/// A command is sent again only when it cannot have run (MOVED, ASK, TRYAGAIN, CLUSTERDOWN, or never written),
/// at most `maximumRedirections` times and within its deadline; a timeout or a connection lost after the write
/// is never retried, since the command may have run.
///
/// ```swift
/// let configuration = try RedisClusterConfiguration(urls: ["redis://10.0.0.1:6379", "redis://10.0.0.2:6379"])
/// let redis = RedisClusterClient(configuration: configuration, logger: logger)
/// // in a ServiceGroup, or: async let _ = redis.run()
/// let count = try await redis.send(RedisCommand("INCR", ["{c:42}:visits"])).int
/// ```
public final class RedisClusterClient: Service, Sendable {
    let configuration: RedisClusterConfiguration
    let eventLoopGroup: any EventLoopGroup
    let logger: Logger
    let state: Mutex<State>
    /// Node clients created while running, for `run()` to run in its task group.
    private let nodeStarts: AsyncStream<Node>
    private let nodeStartsContinuation: AsyncStream<Node>.Continuation
    /// Requests for a slot map refresh. Only the newest is buffered, so a burst of MOVED replies costs one refresh.
    let refreshRequests: AsyncStream<Void>
    let refreshRequestsContinuation: AsyncStream<Void>.Continuation

    /// A master's client, and how to stop it when the master leaves the map.
    struct Node: Sendable {
        let endpoint: RedisConfiguration.Endpoint
        let client: RedisClient
        /// Finished (by `stop`) when the node left the slot map.
        let stopSignal: AsyncStream<Void>
        let stop: AsyncStream<Void>.Continuation
    }

    /// Guarded by `state`.
    struct State {
        enum Lifecycle {
            case idle
            case running
            case stopped
        }

        var lifecycle = Lifecycle.idle
        var slotMap: ClusterSlotMap?
        /// Owners learnt from MOVED replies since the map was fetched; the next map replaces them.
        var moved: [HashSlot: RedisConfiguration.Endpoint] = [:]
        var nodes: [RedisConfiguration.Endpoint: Node] = [:]
        /// Why the last refresh failed, for `.unavailable` errors while no map is known.
        var lastRefreshFailure: String?
        /// Where the round-robin choice of a master for keyless commands resumes.
        var nextMaster = 0
    }

    /// - Parameters:
    ///   - configuration: the seed nodes, the connection settings of every node, and the retry limits.
    ///   - eventLoopGroup: the connections' event loops; by default NIO's shared group.
    ///   - logger: slot map changes and connection events are logged here; commands are not.
    public init(
        configuration: RedisClusterConfiguration,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger
    ) {
        self.configuration = configuration
        self.eventLoopGroup = eventLoopGroup
        self.logger = logger
        self.state = Mutex(State())
        (self.nodeStarts, self.nodeStartsContinuation) = AsyncStream.makeStream(of: Node.self)
        (self.refreshRequests, self.refreshRequestsContinuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    // MARK: Service

    /// Fetches the slot map and runs a client per master until graceful shutdown or cancellation; then stops them
    /// (in-flight commands fail with `.connectionClosed`, never hang).
    /// - Throws: `.invalidConfiguration` when the configuration is unusable or the client already ran.
    public func run() async throws {
        try self.configuration.validate()
        try self.state.withLock { state in
            guard case .idle = state.lifecycle else {
                throw RedisClientError(.invalidConfiguration, message: "run() was already called on this RedisClusterClient")
            }
            state.lifecycle = .running
        }
        self.logger.info("Redis Cluster client starting", metadata: ["seeds": "\(self.configuration.seeds.map(\.description))"])
        self.refreshRequestsContinuation.yield()

        await cancelWhenGracefulShutdown {
            await withDiscardingTaskGroup { group in
                group.addTask { await self.refreshSlotMapWhenAsked() }
                group.addTask { await self.refreshSlotMapPeriodically() }
                // Ends when the task is cancelled: an AsyncStream's iteration stops then.
                for await node in self.nodeStarts {
                    group.addTask { await self.run(node) }
                }
            }
        }

        // Every node's task has returned, so their clients have stopped.
        self.state.withLock { state in
            state.lifecycle = .stopped
            state.slotMap = nil
            state.moved = [:]
            state.nodes = [:]
        }
        self.nodeStartsContinuation.finish()
        self.refreshRequestsContinuation.finish()
        self.logger.info("Redis Cluster client stopped")
    }

    /// Runs a node's client until the node leaves the slot map (or the cluster client stops).
    private func run(_ node: Node) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                do {
                    try await node.client.run()
                } catch {
                    self.logger.error("Redis Cluster node client failed", metadata: ["node": "\(node.endpoint)", "error": "\(error)"])
                }
            }
            for await _ in node.stopSignal {}
            if !Task.isCancelled {
                // It left the map: commands already sent to it get their replies before its connections close.
                try? await Task.sleep(for: self.configuration.node.commandTimeout)
            }
            group.cancelAll()
        }
    }

    /// The node's client, created (and handed to `run()` to start) if there is none yet; nil once stopped.
    func node(at endpoint: RedisConfiguration.Endpoint, in state: inout State) -> Node? {
        if let node = state.nodes[endpoint] {
            return node
        }
        guard case .running = state.lifecycle else { return nil }
        var logger = self.logger
        logger[metadataKey: "redis-node"] = "\(endpoint)"
        let refreshRequests = self.refreshRequestsContinuation
        let client = RedisClient(
            configuration: self.configuration.node(at: endpoint),
            eventLoopGroup: self.eventLoopGroup,
            logger: logger,
            // A lost connection may mean a failover: look at the map again.
            onConnectionLoss: { refreshRequests.yield() }
        )
        let (stopSignal, stop) = AsyncStream.makeStream(of: Void.self)
        let node = Node(endpoint: endpoint, client: client, stopSignal: stopSignal, stop: stop)
        state.nodes[endpoint] = node
        self.nodeStartsContinuation.yield(node)
        return node
    }

    // MARK: State

    /// Whether the slot map is known and a connection to at least one master is up.
    public var isConnected: Bool {
        let nodes = self.state.withLock { state in
            state.slotMap == nil ? [] : Array(state.nodes.values)
        }
        return nodes.contains { $0.client.isConnected }
    }

    /// The slot map in use, as last fetched; nil before the first one (or after `run()` returned).
    public var slotMap: ClusterSlotMap? {
        self.state.withLock { $0.slotMap }
    }

    /// Asks for a slot map refresh soon (coalesced with any already asked for).
    func requestRefresh() {
        self.refreshRequestsContinuation.yield()
    }
}

extension RedisClusterClient: RedisCommandSender {}
