import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import Synchronization

/// A Redis client: a few pipelined connections, kept open and replaced while `run()` runs.
///
/// Add it to a `ServiceGroup` before the services that use it (they are shut down first, then it is).
/// Every call has a deadline and fails fast while Redis is unreachable, so callers never hang on Redis.
///
/// ```swift
/// let redis = RedisClient(configuration: try RedisConfiguration(url: "redis://localhost:6379"), logger: logger)
/// // in a ServiceGroup, or: async let _ = redis.run()
/// let count = try await redis.send(RedisCommand("INCR", ["visits"])).int
/// ```
public final class RedisClient: Service, Sendable {
    private let configuration: RedisConfiguration
    private let eventLoopGroup: any EventLoopGroup
    private let logger: Logger
    private let pool: Mutex<Pool>
    /// Called when an established connection is lost (the cluster client refreshes its slot map then).
    private let onConnectionLoss: (@Sendable () -> Void)?

    /// The connections, one slot each; guarded by `pool`.
    private struct Pool {
        enum Lifecycle {
            case idle
            case running
            case stopped
        }

        var lifecycle = Lifecycle.idle
        var slots: [RedisConnection?] = []
        /// Where the round-robin choice of connection resumes.
        var next = 0
        /// Why the last connection attempt failed, for `.unavailable` errors.
        var lastFailure: String?
    }

    /// - Parameters:
    ///   - configuration: where Redis is and how to use it.
    ///   - eventLoopGroup: the connections' event loops; by default NIO's shared group.
    ///   - logger: connection events (connect, loss, reconnect) are logged here; commands are not.
    public convenience init(
        configuration: RedisConfiguration,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger
    ) {
        self.init(configuration: configuration, eventLoopGroup: eventLoopGroup, logger: logger, onConnectionLoss: nil)
    }

    /// - Parameter onConnectionLoss: called (on an event loop; it must not block) when an established connection is lost.
    init(
        configuration: RedisConfiguration,
        eventLoopGroup: any EventLoopGroup,
        logger: Logger,
        onConnectionLoss: (@Sendable () -> Void)?
    ) {
        self.configuration = configuration
        self.eventLoopGroup = eventLoopGroup
        self.logger = logger
        self.pool = Mutex(Pool())
        self.onConnectionLoss = onConnectionLoss
    }

    // MARK: Service

    /// Keeps `connectionCount` connections open, reconnecting with backoff, until graceful shutdown or
    /// cancellation; then closes them (in-flight commands fail with `.connectionClosed`, never hang).
    /// - Throws: `.invalidConfiguration` when the configuration is unusable or the client already ran.
    public func run() async throws {
        try self.configuration.validate()
        let slotCount = self.configuration.connectionCount
        try self.pool.withLock { pool in
            guard case .idle = pool.lifecycle else {
                throw RedisClientError(.invalidConfiguration, message: "run() was already called on this RedisClient")
            }
            pool.lifecycle = .running
            pool.slots = Array(repeating: nil, count: slotCount)
        }
        self.logger.info("Redis client starting", metadata: ["endpoint": "\(self.configuration.endpoint)", "connections": "\(slotCount)"])

        await cancelWhenGracefulShutdown {
            await withDiscardingTaskGroup { group in
                for slot in 0..<slotCount {
                    group.addTask {
                        await self.maintainConnection(slot: slot)
                    }
                }
            }
        }

        // Every slot's loop closed its connection on the way out.
        self.pool.withLock { pool in
            pool.lifecycle = .stopped
            pool.slots = []
        }
        self.logger.info("Redis client stopped")
    }

    /// Connects slot `slot` and reconnects it whenever the connection closes, until cancelled.
    private func maintainConnection(slot: Int) async {
        var delay = self.configuration.reconnectDelay.initial
        while !Task.isCancelled {
            let connection: RedisConnection
            do {
                connection = try await RedisConnection.connect(
                    configuration: self.configuration,
                    eventLoop: self.eventLoopGroup.next(),
                    logger: self.logger
                )
            } catch {
                self.recordFailure(error, slot: slot, retryIn: delay)
                guard (try? await Task.sleep(for: delay)) != nil else { break }
                delay = min(delay * 2, self.configuration.reconnectDelay.maximum)
                continue
            }

            self.logger.debug("Redis connection up", metadata: ["slot": "\(slot)"])
            self.pool.withLock { pool in
                pool.slots[slot] = connection
                pool.lastFailure = nil
            }
            // Take it out of rotation the moment it closes (on its event loop), not when this task next runs.
            connection.closeFuture.whenComplete { _ in
                let lost = self.pool.withLock { pool in
                    guard pool.slots.indices.contains(slot), pool.slots[slot] === connection else { return false }
                    pool.slots[slot] = nil
                    return pool.lifecycle == .running
                }
                if lost {
                    self.onConnectionLoss?()
                }
            }
            await withTaskCancellationHandler {
                try? await connection.closeFuture.get()
            } onCancel: {
                connection.close()
            }
            if Task.isCancelled {
                break
            }
            self.logger.warning("Redis connection lost; reconnecting", metadata: ["slot": "\(slot)"])
            self.pool.withLock { pool in
                // Shown by `.unavailable` errors until the reconnect succeeds or fails for a known reason.
                pool.lastFailure = pool.lastFailure ?? "the connection was lost; reconnecting"
            }
            // It was healthy: retry soon, but not in a tight loop if Redis accepts and drops connections.
            delay = self.configuration.reconnectDelay.initial
            guard (try? await Task.sleep(for: delay)) != nil else { break }
        }
    }

    private func recordFailure(_ error: any Error, slot: Int, retryIn delay: Duration) {
        let reason = (error as? RedisClientError)?.message ?? "\(error)"
        let isNew = self.pool.withLock { pool in
            defer { pool.lastFailure = reason }
            return pool.lastFailure != reason
        }
        // Log a failure once, not at every retry while Redis stays down.
        self.logger.log(
            level: isNew ? .warning : .debug,
            "Redis connection failed",
            metadata: ["slot": "\(slot)", "error": "\(reason)", "retry-in": "\(delay)"]
        )
    }

    // MARK: Commands

    /// Sends one command on one of the connections (pipelined with other callers' commands) and returns its reply.
    ///
    /// - Throws: `RedisClientError`: `.serverError` with the server's text for an error reply; `.timeout` when no
    ///   reply came within `commandTimeout` (that connection is then closed and replaced); `.unavailable` at once
    ///   when no connection is up; `.connectionClosed` when the connection closed before the reply;
    ///   `.cancelled` when the calling task was cancelled.
    public func send(_ command: RedisCommand) async throws -> RESPValue {
        try await self.connection().send(command)
    }

    /// Sends several commands back to back on one connection (in one write) and returns their replies in order.
    /// Error replies are returned as `.error` values, not thrown; the other errors are those of `send`.
    public func pipeline(_ commands: [RedisCommand]) async throws -> [RESPValue] {
        try await self.connection().pipeline(commands)
    }

    /// `pipeline` with a deadline shorter than `commandTimeout`: a cluster retry keeps within its command's first deadline.
    func pipeline(_ commands: [RedisCommand], timeout: Duration) async throws -> [RESPValue] {
        try await self.connection().pipeline(commands, timeout: TimeAmount(timeout))
    }

    /// Whether at least one connection is up now.
    public var isConnected: Bool {
        self.pool.withLock { pool in
            pool.slots.contains { $0 != nil }
        }
    }

    /// Whether a connection is up, the first ones are still being made, or none is up after a failure.
    enum Availability: Equatable {
        case up
        /// Not connected yet, and no attempt has failed: a new client (the cluster client waits for it).
        case connecting
        case down
    }

    var availability: Availability {
        self.pool.withLock { pool in
            if pool.slots.contains(where: { $0 != nil }) {
                return .up
            }
            switch pool.lifecycle {
            case .idle: return .connecting
            case .running: return pool.lastFailure == nil ? .connecting : .down
            case .stopped: return .down
            }
        }
    }

    /// The next connection that is up, round robin; throws `.unavailable` at once when there is none.
    private func connection() throws -> RedisConnection {
        try self.pool.withLock { pool in
            let count = pool.slots.count
            for offset in 0..<count {
                let index = (pool.next + offset) % count
                if let connection = pool.slots[index] {
                    pool.next = (index + 1) % count
                    return connection
                }
            }
            switch pool.lifecycle {
            case .idle:
                throw RedisClientError(.unavailable, message: "the Redis client is not running (run() has not been called)")
            case .stopped:
                throw RedisClientError(.unavailable, message: "the Redis client has shut down")
            case .running:
                let reason = pool.lastFailure.map { ": \($0)" } ?? " (connecting)"
                throw RedisClientError(.unavailable, message: "no connection to Redis at \(self.configuration.endpoint) is up\(reason)")
            }
        }
    }
}
