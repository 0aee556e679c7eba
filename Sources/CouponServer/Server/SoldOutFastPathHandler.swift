import HTTPTypes
import NIOCore
import NIOHTTPTypes

/// Answers sold-out applies in the channel pipeline, on the event loop, when the answer is known
/// from memory and nothing earlier on the connection is still owed (``StateMachine``); everything
/// else goes on to Hummingbird unchanged. Sits after Hummingbird's `HTTPConnectionStateHandler`,
/// so keep-alive, `Connection: close`, the idle timeout and graceful shutdown see these requests
/// and answers as their own, and after the header-deadline watcher.
final class SoldOutFastPathHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private let fastPath: SoldOutFastPath
    private var machine = StateMachine()
    /// The answer of the request whose head was kept, written at its end.
    private var pending: (head: HTTPResponse, body: ByteBuffer)?
    /// Answers written in this read, flushed together when the read completes (pipelined requests).
    private var unflushed = false

    init(_ fastPath: SoldOutFastPath) {
        self.fastPath = fastPath
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch self.unwrapInboundIn(data) {
        case .head(let request):
            if self.machine.headReceived() == .consider {
                if let answer = self.fastPath.answer(for: request) {
                    self.machine.answerChosen()
                    self.pending = answer
                    return
                }
                self.machine.forwardChosen()
            }
            context.fireChannelRead(data)
        case .body:
            if self.machine.bodyReceived() == .forward {
                context.fireChannelRead(data)
            }
        case .end:
            guard self.machine.endReceived() == .answer, let answer = self.pending else {
                context.fireChannelRead(data)
                return
            }
            self.pending = nil
            context.write(self.wrapOutboundOut(.head(answer.head)), promise: nil)
            context.write(self.wrapOutboundOut(.body(answer.body)), promise: nil)
            context.write(self.wrapOutboundOut(.end(nil)), promise: nil)
            self.unflushed = true
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if self.unflushed {
            self.unflushed = false
            context.flush()
        }
        context.fireChannelReadComplete()
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = self.unwrapOutboundIn(data) {
            self.machine.responseEndWritten()
        }
        context.write(data, promise: promise)
    }
}
