import Logging
import NIOCore
import NIOPosix
import Synchronization

/// One connection to Redis, after its handshake: commands sent on it are pipelined and answered in order.
///
/// Callers may use it from any task; the work happens on the channel's event loop.
final class RedisConnection: Sendable {
    let channel: any Channel
    private let handler: NIOLoopBound<RedisChannelHandler>
    private let commandTimeout: TimeAmount
    /// Identifies requests so a cancelled caller can be found in the queue.
    private let nextRequestID = Atomic<UInt64>(0)

    init(channel: any Channel, handler: NIOLoopBound<RedisChannelHandler>, commandTimeout: TimeAmount) {
        self.channel = channel
        self.handler = handler
        self.commandTimeout = commandTimeout
    }

    /// Connects, runs the handshake (HELLO/AUTH, SELECT) and returns the ready connection.
    ///
    /// The connect and the handshake each have `configuration.connectTimeout` as their deadline.
    /// - Throws: `RedisClientError` — `.connectionClosed` when the connect fails, `.timeout`,
    ///   or `.serverError` when the server refuses the handshake (e.g. `WRONGPASS`).
    static func connect(
        configuration: RedisConfiguration,
        eventLoop: any EventLoop,
        logger: Logger
    ) async throws -> RedisConnection {
        let ready = eventLoop.makePromise(of: Void.self)
        let handshake = configuration.handshake
        let connectTimeout = TimeAmount(configuration.connectTimeout)
        let bootstrap = ClientBootstrap(group: eventLoop)
            .connectTimeout(connectTimeout)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let handler = RedisChannelHandler(
                        handshake: handshake,
                        handshakeTimeout: connectTimeout,
                        readyPromise: ready,
                        logger: logger
                    )
                    try channel.pipeline.syncOperations.addHandler(handler)
                }
            }

        let channel: any Channel
        do {
            switch configuration.endpoint {
            case .tcp(let host, let port):
                channel = try await bootstrap.connect(host: host, port: port).get()
            case .unix(let path):
                channel = try await bootstrap.connect(unixDomainSocketPath: path).get()
            }
        } catch {
            let failure = RedisClientError(.connectionClosed, message: "cannot connect to \(configuration.endpoint): \(error)")
            ready.fail(failure)
            throw failure
        }

        do {
            try await ready.futureResult.get()
            let handler = try await channel.eventLoop.submit {
                NIOLoopBound(try channel.pipeline.syncOperations.handler(type: RedisChannelHandler.self), eventLoop: channel.eventLoop)
            }.get()
            return RedisConnection(channel: channel, handler: handler, commandTimeout: TimeAmount(configuration.commandTimeout))
        } catch {
            channel.close(promise: nil)
            throw error
        }
    }

    /// Sends one command and returns its reply; an error reply throws `.serverError`.
    /// - Parameter timeout: the deadline, when shorter than the connection's `commandTimeout` (a cluster retry).
    func send(_ command: RedisCommand, timeout: TimeAmount? = nil) async throws -> RESPValue {
        var buffer = self.channel.allocator.buffer(capacity: 64)
        buffer.writeRedisCommand(command)
        return try await self.submit(buffer, timeout: timeout) { .single($0) }
    }

    /// Sends `commands` in one write and returns their replies in order, error replies included as `.error`.
    /// - Parameter timeout: the deadline, when shorter than the connection's `commandTimeout` (a cluster retry).
    func pipeline(_ commands: [RedisCommand], timeout: TimeAmount? = nil) async throws -> [RESPValue] {
        guard !commands.isEmpty else {
            return []
        }
        var buffer = self.channel.allocator.buffer(capacity: 64 * commands.count)
        for command in commands {
            buffer.writeRedisCommand(command)
        }
        let replies = try await self.submit(buffer, timeout: timeout) { .pipeline($0, count: commands.count) }
        return replies.array ?? []
    }

    /// Closes the connection; pending commands fail with `.connectionClosed`.
    func close() {
        let handler = self.handler
        self.channel.eventLoop.execute {
            handler.value.close()
        }
    }

    /// Completed once the channel is closed, whoever closed it.
    var closeFuture: EventLoopFuture<Void> {
        self.channel.closeFuture
    }

    private func submit(
        _ buffer: ByteBuffer,
        timeout: TimeAmount?,
        request makeRequest: (RedisChannelHandler.Promise) -> RedisChannelHandler.StateMachine<RedisChannelHandler.Promise>.Request
    ) async throws -> RESPValue {
        guard !Task.isCancelled else {
            throw RedisClientError(.cancelled, message: "the task was cancelled before the command was sent")
        }
        let eventLoop = self.channel.eventLoop
        let handler = self.handler
        let id = self.nextRequestID.wrappingAdd(1, ordering: .relaxed).newValue
        let promise = eventLoop.makePromise(of: RESPValue.self)
        let request = makeRequest(promise)
        let deadline = eventLoop.now + min(timeout ?? self.commandTimeout, self.commandTimeout)
        return try await withTaskCancellationHandler {
            if eventLoop.inEventLoop {
                handler.value.send(buffer, id: id, request: request, deadline: deadline)
            } else {
                eventLoop.execute {
                    handler.value.send(buffer, id: id, request: request, deadline: deadline)
                }
            }
            return try await promise.futureResult.get()
        } onCancel: {
            // Runs after the send above was queued (same event loop, in order), so the request is found.
            eventLoop.execute {
                handler.value.cancel(id: id)
            }
        }
    }
}
