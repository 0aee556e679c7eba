import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix

/// The few calls a load run makes besides the load: readiness, reset, the campaign's
/// figures. One short-lived connection per call, each with a deadline.
public struct AdminClient: Sendable {
    public struct Answer: Sendable {
        public var status: Int
        public var body: String
    }

    let target: LoadTarget
    let token: String?
    let group: any EventLoopGroup
    let timeout: TimeAmount

    public init(target: LoadTarget, token: String?, group: any EventLoopGroup, timeout: TimeAmount = .seconds(10)) {
        self.target = target
        self.token = token
        self.group = group
        self.timeout = timeout
    }

    public func call(_ method: HTTPMethod, _ path: String) async throws -> Answer {
        let channel = try await ClientBootstrap(group: group)
            .connectTimeout(timeout)
            .connect(host: target.host, port: target.port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    return try NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>(wrappingChannelSynchronously: channel)
                }
            }
        let deadline = channel.channel.eventLoop.scheduleTask(in: timeout) { channel.channel.close(promise: nil) }
        defer { deadline.cancel() }
        return try await channel.executeThenClose { inbound, outbound in
            var head = HTTPRequestHead(version: .http1_1, method: method, uri: path)
            head.headers.add(name: "Host", value: target.hostHeader)
            head.headers.add(name: "Content-Length", value: "0")
            head.headers.add(name: "Connection", value: "close")
            if let token { head.headers.add(name: "Authorization", value: "Bearer \(token)") }
            try await outbound.write(.head(head))
            try await outbound.write(.end(nil))
            var status = 0
            var body = ByteBuffer()
            for try await part in inbound {
                switch part {
                case .head(let response): status = Int(response.status.code)
                case .body(var chunk): body.writeBuffer(&chunk)
                case .end: return Answer(status: status, body: String(buffer: body))
                }
            }
            throw LoadGenError.targetUnreachable("\(target.url)\(path) closed the connection before answering")
        }
    }

    /// Waits until `GET /health/ready` answers 200, up to `attempts` tries 100 ms apart.
    public func waitUntilReady(attempts: Int = 100) async throws {
        var lastError = "no answer"
        for _ in 0..<attempts {
            do {
                let answer = try await call(.GET, "/health/ready")
                if answer.status == 200 { return }
                lastError = "GET /health/ready answered \(answer.status)"
            } catch {
                lastError = "\(error)"
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw LoadGenError.targetUnreachable("\(target.url) is not ready: \(lastError)")
    }

    /// Empties the campaign, as the seed's `redis-cli DEL` did before each test.
    public func reset(campaign: String) async throws {
        guard token != nil else {
            throw LoadGenError.adminRefused(
                "resetting campaign '\(campaign)' needs the admin token: give --admin-token or COUPONGATE_ADMIN_TOKEN, or --no-reset"
            )
        }
        let answer = try await call(.POST, "/admin/campaigns/\(campaign)/reset")
        guard answer.status == 200 else {
            throw LoadGenError.adminRefused("POST /admin/campaigns/\(campaign)/reset answered \(answer.status): \(answer.body)")
        }
    }

    /// The campaign's limit and issued count from `GET /campaigns/{id}`.
    public func campaignFigures(_ campaign: String) async throws -> (limit: Int, issued: Int) {
        struct Figures: Decodable {
            var limit: Int
            var issued: Int
        }
        let answer = try await call(.GET, "/campaigns/\(campaign)")
        guard answer.status == 200, let figures = try? JSONDecoder().decode(Figures.self, from: Data(answer.body.utf8)) else {
            throw LoadGenError.targetUnreachable("GET /campaigns/\(campaign) answered \(answer.status): \(answer.body)")
        }
        return (figures.limit, figures.issued)
    }
}
