import NIOCore
import NIOHTTP1
import NIOPosix

/// What a server costs when it does nothing but answer: every request gets CouponGate's sold-out
/// answer (same status, headers and body size), `GET /health/live` a 200 for the bench's readiness
/// check. Usage: nio-422 PORT
final class ConstantAnswer: ChannelInboundHandler, Sendable {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    static let body =
        #"{"type":"urn:coupongate:problem:sold-out","title":"Sold out","status":422,"detail":"All coupons of campaign 'default' have been issued.","campaign":"default"}"#

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .head(let request) = self.unwrapInboundIn(data) else { return }
        let health = request.uri == "/health/live"
        let body = health ? "{\"status\":\"live\"}" : Self.body
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: health ? "application/json" : "application/problem+json")
        headers.add(name: "Content-Length", value: String(body.utf8.count))
        let head = HTTPResponseHead(version: request.version, status: health ? .ok : .unprocessableEntity, headers: headers)
        context.write(self.wrapOutboundOut(.head(head)), promise: nil)
        context.write(self.wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(string: body)))), promise: nil)
        context.write(self.wrapOutboundOut(.end(nil)), promise: nil)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        context.flush()
    }
}

let port = CommandLine.arguments.dropFirst().first.flatMap { Int($0) } ?? 8422
let bootstrap = ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
    .serverChannelOption(.backlog, value: 4096)
    .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
    .childChannelInitializer { channel in
        channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.configureHTTPServerPipeline()
            try channel.pipeline.syncOperations.addHandler(ConstantAnswer())
        }
    }
let channel = try await bootstrap.bind(host: "127.0.0.1", port: port).get()
print("nio-422 listening on 127.0.0.1:\(port)")
try await channel.closeFuture.get()
