import Logging
import NIOCore
import NIOPosix
import NIOSSL
import Synchronization

/// One connection to a Kafka broker: requests sent on it are pipelined and answered in order.
///
/// Callers may use it from any task; the work happens on the channel's event loop.
final class KafkaConnection: Sendable {
    struct Configuration: Sendable {
        /// Sent in every request header; brokers log it and use it for quotas.
        var clientID: String? = "coupongate"
        var connectTimeout: TimeAmount = .seconds(10)
        /// The default deadline of each request.
        var requestTimeout: TimeAmount = .seconds(30)
        /// TLS towards the broker; nil for plaintext. The broker's host is the server name (SNI, verification).
        var tls: TLSConfiguration?
        /// Authenticates each connection right after ApiVersions; nil for none.
        var sasl: KafkaSASL?

        init() {}
    }

    let channel: any Channel
    private let handler: NIOLoopBound<KafkaChannelHandler>
    private let configuration: Configuration
    private let nextCorrelationID = Atomic<Int32>(0)
    /// The broker's versions, once `negotiateVersions` ran.
    private let versions = Mutex<KafkaAPIVersions?>(nil)

    init(channel: any Channel, handler: NIOLoopBound<KafkaChannelHandler>, configuration: Configuration) {
        self.channel = channel
        self.handler = handler
        self.configuration = configuration
    }

    /// Connects to `host:port` (over TLS when configured), asks the broker which versions it supports,
    /// and authenticates with SASL when configured.
    ///
    /// - Throws: `KafkaError` — `.connectionClosed` when the connect fails, `.timeout`, `.brokerError`
    ///   when ApiVersions is refused, `.tlsFailed` when the TLS handshake fails, `.authenticationFailed`
    ///   when SASL does (the last two are not retriable).
    static func connect(
        host: String,
        port: Int,
        configuration: Configuration = Configuration(),
        eventLoop: any EventLoop = MultiThreadedEventLoopGroup.singleton.any(),
        logger: Logger
    ) async throws -> KafkaConnection {
        // One context per connection: building it reads the trust roots, which is cheap next to a handshake.
        let sslContext: NIOSSLContext?
        do {
            sslContext = try configuration.tls.map { try NIOSSLContext(configuration: $0) }
        } catch {
            throw KafkaError(.tlsFailed, message: "the TLS configuration for \(host):\(port) is unusable: \(error)")
        }
        let bootstrap = ClientBootstrap(group: eventLoop)
            .connectTimeout(configuration.connectTimeout)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let sslContext {
                        // First in the pipeline: every Kafka frame, ApiVersions included, goes through TLS.
                        // An IP address is not a valid SNI name: it is then only checked against the certificate.
                        let serverName = Self.isIPAddress(host) ? nil : host
                        let tls = try NIOSSLClientHandler(context: sslContext, serverHostname: serverName)
                        try channel.pipeline.syncOperations.addHandler(tls)
                    }
                    try channel.pipeline.syncOperations.addHandler(KafkaChannelHandler(eventLoop: channel.eventLoop, logger: logger))
                }
            }
        let channel: any Channel
        do {
            channel = try await bootstrap.connect(host: host, port: port).get()
        } catch {
            throw KafkaError(.connectionClosed, message: "cannot connect to \(host):\(port): \(error)")
        }
        do {
            let handler = try await channel.eventLoop.submit {
                NIOLoopBound(try channel.pipeline.syncOperations.handler(type: KafkaChannelHandler.self), eventLoop: channel.eventLoop)
            }.get()
            let connection = KafkaConnection(channel: channel, handler: handler, configuration: configuration)
            do {
                try await connection.negotiateVersions()
            } catch let error as KafkaError where error.code == .connectionClosed && configuration.tls == nil {
                // What a TLS listener does with a plaintext ApiVersions: say so, or the cause stays a guess.
                throw KafkaError(
                    .connectionClosed,
                    message: "\(host):\(port) closed the connection on ApiVersions (\(error.message)); is it a TLS listener?"
                )
            }
            if let sasl = configuration.sasl {
                try await connection.authenticate(sasl, broker: "\(host):\(port)")
            }
            return connection
        } catch let error as KafkaError where error.code == .tlsFailed {
            channel.close(promise: nil)
            throw KafkaError(.tlsFailed, message: "TLS with the broker at \(host):\(port) failed: \(error.message)")
        } catch {
            channel.close(promise: nil)
            throw error
        }
    }

    private static func isIPAddress(_ host: String) -> Bool {
        (try? SocketAddress(ipAddress: host, port: 0)) != nil
    }

    /// The broker's supported versions, after `negotiateVersions`.
    var apiVersions: KafkaAPIVersions? {
        self.versions.withLock { $0 }
    }

    /// Sends ApiVersions (v3, or the highest version the broker offers when it does not know v3)
    /// and keeps the answer, so `send(_:)` can pick each request's version.
    @discardableResult
    func negotiateVersions() async throws -> KafkaAPIVersions {
        var response = try await self.send(ApiVersionsRequest(), version: ApiVersionsRequest.supportedVersions.upperBound)
        if response.errorCode == .unsupportedVersion {
            // The refusal lists the broker's own ApiVersions range: retry once within it.
            let version = try response.versions.negotiate(ApiVersionsRequest.self)
            response = try await self.send(ApiVersionsRequest(), version: version)
        }
        guard !response.errorCode.isError else {
            throw KafkaError(.brokerError, message: "ApiVersions failed: \(response.errorCode)")
        }
        self.versions.withLock { $0 = response.versions }
        return response.versions
    }

    /// Sends `request` at the highest version both sides support and returns the decoded response.
    /// - Throws: `.unsupportedVersion` when there is none, or before `negotiateVersions` ran.
    func send<Request: KafkaRequest>(_ request: Request, timeout: TimeAmount? = nil) async throws -> Request.Response {
        guard let versions = self.apiVersions else {
            throw KafkaError(.unsupportedVersion, message: "the broker's API versions are not known yet (no ApiVersions exchange)")
        }
        return try await self.send(request, version: try versions.negotiate(Request.self), timeout: timeout)
    }

    /// Sends `request` at `version` and returns the decoded response.
    /// - Parameter timeout: the deadline, when shorter than the configuration's `requestTimeout`.
    func send<Request: KafkaRequest>(_ request: Request, version: Int16, timeout: TimeAmount? = nil) async throws -> Request.Response {
        guard !Task.isCancelled else {
            throw KafkaError(.cancelled, message: "the task was cancelled before the request was sent")
        }
        let correlationID = self.nextCorrelationID.wrappingAdd(1, ordering: .relaxed).newValue
        var frame = self.channel.allocator.buffer(capacity: 128)
        try frame.writeKafkaRequest(request, version: version, correlationID: correlationID, clientID: self.configuration.clientID)
        var body = try await self.submit(
            frame,
            correlationID: correlationID,
            headerVersion: Request.responseHeaderVersion(version),
            timeout: timeout
        )
        return try Request.decodeResponse(&body, version: version)
    }

    /// Closes the connection; pending requests fail with `.connectionClosed`.
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

    private func submit(_ frame: ByteBuffer, correlationID: Int32, headerVersion: Int16, timeout: TimeAmount?) async throws -> ByteBuffer {
        let eventLoop = self.channel.eventLoop
        let handler = self.handler
        let promise = eventLoop.makePromise(of: ByteBuffer.self)
        let requestTimeout = self.configuration.requestTimeout
        let deadline = eventLoop.now + min(timeout ?? requestTimeout, requestTimeout)
        return try await withTaskCancellationHandler {
            if eventLoop.inEventLoop {
                handler.value.send(frame, correlationID: correlationID, headerVersion: headerVersion, promise: promise, deadline: deadline)
            } else {
                eventLoop.execute {
                    handler.value.send(frame, correlationID: correlationID, headerVersion: headerVersion, promise: promise, deadline: deadline)
                }
            }
            return try await promise.futureResult.get()
        } onCancel: {
            // Runs after the send above was queued (same event loop, in order), so the request is found.
            eventLoop.execute {
                handler.value.cancel(correlationID: correlationID)
            }
        }
    }
}
