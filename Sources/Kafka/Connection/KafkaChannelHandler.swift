import Logging
import NIOCore
import NIOSSL

/// Writes requests, matches responses to them by correlation id, and enforces deadlines, for one connection.
///
/// All its state is confined to the channel's event loop; `KafkaConnection` reaches it through `NIOLoopBound`.
/// The decisions are made by `StateMachine`; this class only carries out its actions.
final class KafkaChannelHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
    /// Completed with the response body, after its header.
    typealias Promise = EventLoopPromise<ByteBuffer>

    private var stateMachine = StateMachine<Promise>()
    private var decoder: NIOSingleStepByteToMessageProcessor<KafkaFrameDecoder>
    private var context: ChannelHandlerContext?
    private var timer: Scheduled<Void>?
    /// A flush is queued on the event loop: the requests of every caller that sends before it runs
    /// go out in one syscall instead of one each.
    private var flushQueued = false
    private let eventLoop: any EventLoop
    private let logger: Logger

    init(eventLoop: any EventLoop, maximumFrameSize: Int = 100 * 1024 * 1024, logger: Logger) {
        self.decoder = NIOSingleStepByteToMessageProcessor(KafkaFrameDecoder(maximumFrameSize: maximumFrameSize))
        self.eventLoop = eventLoop
        self.logger = logger
    }

    // MARK: Requests

    /// Writes an encoded request frame and records who waits for its response. Must run on the event loop.
    func send(_ frame: ByteBuffer, correlationID: Int32, headerVersion: Int16, promise: Promise, deadline: NIODeadline) {
        self.eventLoop.assertInEventLoop()
        switch self.stateMachine.send(correlationID: correlationID, headerVersion: headerVersion, promise: promise, deadline: deadline) {
        case .write(let timerDeadline):
            guard let context = self.context else {
                // Unreachable: the state is only active between handlerAdded and handlerRemoved.
                promise.fail(KafkaError(.connectionClosed, message: "the connection handler was removed"))
                return
            }
            context.write(self.wrapOutboundOut(frame), promise: nil)
            self.queueFlush()
            if let timerDeadline {
                self.scheduleTimer(at: timerDeadline, context: context)
            }
        case .fail(let promise, let error):
            promise.fail(error)
        }
    }

    /// Fails request `correlationID` with `.cancelled`; its response is dropped when it arrives.
    func cancel(correlationID: Int32) {
        self.eventLoop.assertInEventLoop()
        switch self.stateMachine.cancel(correlationID: correlationID) {
        case .fail(let promise, let error):
            promise.fail(error)
        case .none:
            break
        }
    }

    /// Closes the connection, failing every pending request with `.connectionClosed`.
    func close() {
        self.eventLoop.assertInEventLoop()
        self.run(self.stateMachine.close())
    }

    private func queueFlush() {
        guard !self.flushQueued else { return }
        self.flushQueued = true
        let handler = NIOLoopBound(self, eventLoop: self.eventLoop)
        self.eventLoop.execute {
            handler.value.flushQueued = false
            handler.value.context?.flush()
        }
    }

    // MARK: Channel events

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        // Added to a channel that is already connected (not the case with ClientBootstrap, but possible).
        if context.channel.isActive {
            self.stateMachine.channelActive()
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.run(self.stateMachine.channelInactive())
        self.context = nil
    }

    func channelActive(context: ChannelHandlerContext) {
        self.stateMachine.channelActive()
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        // Responses that arrived whole before the close are still delivered.
        do {
            try self.decoder.finishProcessing(seenEOF: true) { frame in
                self.received(frame)
            }
        } catch {
            self.logger.debug("Incomplete response at connection close", metadata: ["error": "\(error)"])
        }
        self.run(self.stateMachine.channelInactive())
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
        let kafkaError: KafkaError
        switch error {
        case let error as KafkaError: kafkaError = error
        // A failed handshake (an untrusted certificate, a peer that does not speak TLS) fails the same way on retry.
        case let error as NIOSSLError: kafkaError = KafkaError(.tlsFailed, message: "\(error)")
        case let error as BoringSSLError: kafkaError = KafkaError(.tlsFailed, message: "\(error)")
        case let error as NIOSSLExtraError: kafkaError = KafkaError(.tlsFailed, message: "\(error)")
        default: kafkaError = KafkaError(.connectionClosed, message: "connection error: \(error)")
        }
        self.logger.debug("Kafka connection error", metadata: ["error": "\(kafkaError)"])
        self.run(self.stateMachine.errorCaught(kafkaError))
    }

    // MARK: Carrying out actions

    private func received(_ frame: ByteBuffer) {
        var frame = frame
        // The frame decoder guarantees at least the four bytes of the correlation id.
        let correlationID = frame.getInteger(at: frame.readerIndex, endianness: .big, as: Int32.self) ?? -1
        switch self.stateMachine.receivedResponse(correlationID: correlationID) {
        case .succeed(let promise, let headerVersion):
            do {
                _ = try frame.readKafkaResponseHeader(version: headerVersion)
                promise.succeed(frame)
            } catch {
                promise.fail(error)
            }
        case .drop, .none:
            break
        case .close(let failures, let error):
            self.closeChannel(failing: failures, error: error)
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

    private func closeChannel(failing failures: [StateMachine<Promise>.Failure], error: KafkaError) {
        self.logger.debug("Closing Kafka connection", metadata: ["reason": "\(error)", "failed-requests": "\(failures.count)"])
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
