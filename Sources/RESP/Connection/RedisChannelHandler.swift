import Logging
import NIOCore

/// Writes commands, matches replies to them in order, and enforces deadlines, for one connection.
///
/// All its state is confined to the channel's event loop; `RedisConnection` reaches it through `NIOLoopBound`.
/// The decisions are made by `StateMachine`; this class only carries out its actions.
final class RedisChannelHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
    typealias Promise = EventLoopPromise<RESPValue>

    private var stateMachine: StateMachine<Promise>
    private var decoder: NIOSingleStepByteToMessageProcessor<RESPDecoder>
    private var context: ChannelHandlerContext?
    private var timer: Scheduled<Void>?
    /// A flush is queued on the event loop: the writes of every command sent
    /// before it runs go out in one syscall instead of one each.
    private var flushQueued = false
    /// Completed when the handshake succeeds, or failed with the reason the connection closed before it did.
    private let readyPromise: EventLoopPromise<Void>
    private let handshakeTimeout: TimeAmount
    private let eventLoop: any EventLoop
    private let logger: Logger

    /// - Parameters:
    ///   - handshake: commands run first, on channel activation (HELLO, AUTH, SELECT).
    ///   - handshakeTimeout: deadline for all handshake replies.
    ///   - readyPromise: succeeded when the connection takes commands.
    init(
        handshake: [RedisCommand],
        handshakeTimeout: TimeAmount,
        readyPromise: EventLoopPromise<Void>,
        decoderLimits: RESPDecoder.Limits = RESPDecoder.Limits(),
        logger: Logger
    ) {
        self.stateMachine = StateMachine(handshake: handshake)
        self.decoder = NIOSingleStepByteToMessageProcessor(RESPDecoder(limits: decoderLimits))
        self.handshakeTimeout = handshakeTimeout
        self.readyPromise = readyPromise
        self.eventLoop = readyPromise.futureResult.eventLoop
        self.logger = logger
    }

    // MARK: Commands

    /// Writes an encoded request and records who waits for its replies. Must run on the event loop.
    func send(_ buffer: ByteBuffer, id: UInt64, request: StateMachine<Promise>.Request, deadline: NIODeadline) {
        self.eventLoop.assertInEventLoop()
        switch self.stateMachine.send(id: id, request, deadline: deadline) {
        case .write(let timerDeadline):
            guard let context = self.context else {
                // Unreachable: the state is only active between handlerAdded and handlerRemoved.
                request.promise.fail(RedisClientError(.unavailable, message: "the connection handler was removed"))
                return
            }
            context.write(self.wrapOutboundOut(buffer), promise: nil)
            self.queueFlush()
            if let timerDeadline {
                self.scheduleTimer(at: timerDeadline, context: context)
            }
        case .fail(let promise, let error):
            promise.fail(error)
        }
    }

    /// Flushes once the sends already queued on the event loop have run, so
    /// commands from many concurrent callers share one write.
    private func queueFlush() {
        guard !self.flushQueued else { return }
        self.flushQueued = true
        let handler = NIOLoopBound(self, eventLoop: self.eventLoop)
        self.eventLoop.execute {
            handler.value.flushQueued = false
            handler.value.context?.flush()
        }
    }

    /// Fails the request `id` with `.cancelled`; its replies are dropped when they arrive.
    func cancel(id: UInt64) {
        self.eventLoop.assertInEventLoop()
        switch self.stateMachine.cancel(id: id) {
        case .fail(let promise, let error):
            promise.fail(error)
        case .none:
            break
        }
    }

    /// Closes the connection, failing every pending command with `.connectionClosed`.
    func close() {
        self.eventLoop.assertInEventLoop()
        self.run(self.stateMachine.close())
    }

    // MARK: Channel events

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        // Added to a channel that is already connected (not the case with ClientBootstrap, but possible).
        if context.channel.isActive {
            self.activate(context: context)
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.run(self.stateMachine.channelInactive())
        self.timer?.cancel()
        self.timer = nil
        self.context = nil
    }

    func channelActive(context: ChannelHandlerContext) {
        self.activate(context: context)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        // Replies that arrived complete before the close are still delivered.
        do {
            try self.decoder.finishProcessing(seenEOF: true) { frame in
                self.received(frame)
            }
        } catch {
            self.logger.debug("Incomplete reply at connection close", metadata: ["error": "\(error)"])
        }
        self.run(self.stateMachine.channelInactive())
        self.timer?.cancel()
        self.timer = nil
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = self.unwrapInboundIn(data)
        do {
            try self.decoder.process(buffer: buffer) { frame in
                self.received(frame)
            }
        } catch {
            self.errorCaught(context: context, error: error)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        let clientError =
            (error as? RedisClientError)
            ?? RedisClientError(.connectionClosed, message: "connection error: \(error)")
        self.logger.debug("Redis connection error", metadata: ["error": "\(clientError)"])
        self.run(self.stateMachine.errorCaught(clientError))
    }

    // MARK: Carrying out actions

    private func activate(context: ChannelHandlerContext) {
        switch self.stateMachine.channelActive(handshakeDeadline: context.eventLoop.now + self.handshakeTimeout) {
        case .writeHandshake(let commands, let deadline):
            var buffer = context.channel.allocator.buffer(capacity: 128)
            for command in commands {
                buffer.writeRedisCommand(command)
            }
            context.writeAndFlush(self.wrapOutboundOut(buffer), promise: nil)
            self.scheduleTimer(at: deadline, context: context)
        case .ready:
            self.readyPromise.succeed()
        case .none:
            break
        }
    }

    private func received(_ frame: RESPFrame) {
        switch frame {
        case .push(let elements):
            // Out-of-band data (pub/sub, tracking invalidations) is not a reply: matching it would shift every reply.
            self.logger.trace("Ignored a RESP3 push frame", metadata: ["kind": "\(elements.first?.string ?? "?")"])
        case .reply(let value):
            switch self.stateMachine.receivedReply(value) {
            case .succeed(let promise, let value):
                promise.succeed(value)
            case .fail(let promise, let error):
                promise.fail(error)
            case .handshakeCompleted:
                self.readyPromise.succeed()
            case .close(let failures, let error):
                self.closeChannel(failing: failures, error: error)
            case .none:
                break
            }
        }
    }

    private func run(_ action: StateMachine<Promise>.CloseAction) {
        switch action {
        case .close(let failures, let error):
            self.closeChannel(failing: failures, error: error)
        case .none:
            break
        }
    }

    private func closeChannel(failing failures: [StateMachine<Promise>.Failure], error: RedisClientError) {
        self.logger.debug("Closing Redis connection", metadata: ["reason": "\(error)", "failed-commands": "\(failures.count)"])
        self.readyPromise.fail(error)  // no effect once the handshake succeeded
        for failure in failures {
            failure.promise.fail(failure.error)
        }
        self.timer?.cancel()
        self.timer = nil
        self.context?.close(promise: nil)
    }

    private func scheduleTimer(at deadline: NIODeadline, context: ChannelHandlerContext) {
        self.timer?.cancel()
        self.timer = context.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) {
            self.timer = nil
            switch self.stateMachine.deadlineReached(now: self.eventLoop.now) {
            case .scheduleTimer(let next):
                if let context = self.context {
                    self.scheduleTimer(at: next, context: context)
                }
            case .close(let failures, let error):
                self.closeChannel(failing: failures, error: error)
            case .none:
                break
            }
        }
    }
}
