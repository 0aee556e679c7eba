import Hummingbird
import NIOCore

/// The request context of every route: Hummingbird's core plus the request id, so error
/// and admin log lines can name the request without touching the logger on the hot path.
public struct CouponRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// From the client's `X-Request-Id`, or generated; set by ``RequestIDMiddleware``.
    public var requestID = ""
    /// The peer of the connection (the client, or the load balancer in front), for audit lines.
    public let remoteAddress: SocketAddress?

    public init(source: Source) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
    }
}
