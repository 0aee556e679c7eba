import HummingbirdCore
import Logging
import NIOCore
import NIOHTTPTypes

/// Closes a connection whose request head does not arrive complete within `timeout` of its
/// first byte: a slowloris client, trickling header bytes to hold a connection, is cut off
/// after `timeout` instead of the idle timeout (which Hummingbird resets only on complete
/// request parts). A connection that sends nothing is left to the idle timeout.
///
/// Two handlers share it: ``HeaderDeadlineByteWatcher`` before the HTTP decoder (it sees the
/// first byte) and ``HeaderDeadlineRequestWatcher`` after it (it sees the head complete).
/// Both run on the connection's event loop, which is what makes the shared state safe.
final class HeaderDeadline {
    let timeout: TimeAmount
    /// True between requests: the next bytes are a new head's.
    var waitingForHead = true
    /// When the head being read began (its first byte); nil when no head is being read.
    var headStarted: NIODeadline?
    /// One timer per connection, not one per request: it fires at the earliest moment a head could
    /// be late and then checks, so a keep-alive connection of quick requests schedules one every
    /// `timeout` at most instead of one per request (the sold-out path's cost is a few microseconds).
    var timer: Scheduled<Void>?

    init(timeout: TimeAmount) {
        self.timeout = timeout
    }

    /// A head's first byte arrived.
    func headBegan(context: ChannelHandlerContext) {
        guard self.waitingForHead, self.headStarted == nil else { return }
        self.headStarted = .now()
        if self.timer == nil {
            self.schedule(at: .now() + self.timeout, context: context)
        }
    }

    private func schedule(at deadline: NIODeadline, context: ChannelHandlerContext) {
        let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
        self.timer = context.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) {
            self.timer = nil
            // No head under way (it completed, and no other began): nothing to watch until the next one.
            guard let started = self.headStarted else { return }
            if NIODeadline.now() >= started + self.timeout {
                loopBound.value.close(promise: nil)
            } else {
                self.schedule(at: started + self.timeout, context: loopBound.value)
            }
        }
    }

    func cancel() {
        self.timer?.cancel()
        self.timer = nil
    }
}

/// Starts the header clock at the first byte of a request.
final class HeaderDeadlineByteWatcher: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private let deadline: HeaderDeadline

    init(_ deadline: HeaderDeadline) {
        self.deadline = deadline
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        self.deadline.headBegan(context: context)
        context.fireChannelRead(data)
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.deadline.cancel()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.deadline.cancel()
    }
}

/// Stops the header clock when the head is complete; restarts the wait after the request.
final class HeaderDeadlineRequestWatcher: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart

    private let deadline: HeaderDeadline

    init(_ deadline: HeaderDeadline) {
        self.deadline = deadline
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch self.unwrapInboundIn(data) {
        case .head:
            // The head is complete: the timer, if it fires, finds nothing to watch.
            self.deadline.headStarted = nil
            self.deadline.waitingForHead = false
        case .body:
            break
        case .end:
            self.deadline.waitingForHead = true
        }
        context.fireChannelRead(data)
    }
}

/// Hummingbird's HTTP/1.1 channel with a ``HeaderDeadline`` on every connection, and the
/// sold-out fast path when one is given.
struct HeaderDeadlineHTTP1Channel: ServerChildChannel {
    typealias Value = HTTP1Channel.Value

    let base: HTTP1Channel
    let headerTimeout: TimeAmount
    let soldOutFastPath: SoldOutFastPath?

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        let deadline = HeaderDeadline(timeout: self.headerTimeout)
        do {
            try channel.pipeline.syncOperations.addHandler(HeaderDeadlineByteWatcher(deadline), position: .first)
        } catch {
            return channel.eventLoop.makeFailedFuture(error)
        }
        // Isolated: the setup future completes on the channel's loop, where `deadline` lives.
        return self.base.setup(channel: channel, logger: logger).assumeIsolated().flatMapThrowing { value in
            // Right after the decoder's request parts are formed, before Hummingbird's handlers.
            let operations = channel.pipeline.syncOperations
            let state = try operations.handler(type: HTTPConnectionStateHandler.self)
            try operations.addHandler(HeaderDeadlineRequestWatcher(deadline), position: .before(state))
            // After the state handler, so it sees the fast path's requests and answers too.
            if let soldOutFastPath = self.soldOutFastPath {
                try operations.addHandler(SoldOutFastPathHandler(soldOutFastPath), position: .after(state))
            }
            return value
        }.nonisolated()
    }

    func handle(value: Value, logger: Logger) async {
        await self.base.handle(value: value, logger: logger)
    }
}

extension HTTPServerBuilder {
    /// HTTP/1.1 whose request heads must arrive within `headerTimeout` of their first byte, and
    /// whose sold-out applies `soldOutFastPath` answers in the pipeline when given.
    static func http1(configuration: HTTP1Channel.Configuration, headerTimeout: TimeAmount, soldOutFastPath: SoldOutFastPath?) -> HTTPServerBuilder {
        HTTPServerBuilder { responder in
            HeaderDeadlineHTTP1Channel(
                base: HTTP1Channel(responder: responder, configuration: configuration),
                headerTimeout: headerTimeout,
                soldOutFastPath: soldOutFastPath
            )
        }
    }
}
