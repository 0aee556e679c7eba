import NIOCore

/// One keep-alive connection: sends a request, waits for its answer, reports it to its
/// loop's driver, which says what to send next. Lives on its driver's event loop only.
final class VirtualUser: ChannelInboundHandler {
    typealias InboundIn = HTTPAnswer
    typealias OutboundOut = ByteBuffer

    struct InFlight {
        var user: Int64
        /// When the request was meant to go: its send time (closed model) or its slot in the
        /// schedule (open model), so queueing behind a slow answer counts as latency.
        var intended: Int64
        var sent: Int64
    }

    unowned let driver: LoopDriver
    private(set) var context: ChannelHandlerContext?
    private(set) var inFlight: InFlight?
    private var buffer: ByteBuffer
    /// Set when the VU level drops: close after the current answer.
    var retiring = false
    private(set) var closed = false

    init(driver: LoopDriver) {
        self.driver = driver
        buffer = ByteBufferAllocator().buffer(capacity: 160)
    }

    var isConnected: Bool { context != nil && !closed }
    var isIdle: Bool { isConnected && inFlight == nil }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func channelActive(context: ChannelHandlerContext) {
        driver.userConnected(self)
    }

    func send(user: Int64, intended: Int64, now: Int64) {
        guard let context, !closed else { return }
        inFlight = InFlight(user: user, intended: intended, sent: now)
        driver.request.write(user: user, into: &buffer)
        context.writeAndFlush(wrapOutboundOut(buffer), promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let answer = unwrapInboundIn(data)
        guard let request = inFlight else {
            // An answer nobody asked for: the connection is out of step; drop it.
            close()
            return
        }
        inFlight = nil
        driver.userAnswered(self, request: request, status: answer.status, closes: answer.closes)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        close()
    }

    func channelInactive(context: ChannelHandlerContext) {
        closed = true
        let lost = inFlight
        inFlight = nil
        self.context = nil
        driver.userClosed(self, lost: lost)
    }

    func close() {
        guard !closed, let context else { return }
        closed = true
        context.close(promise: nil)
    }
}
