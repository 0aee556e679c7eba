import Logging
import NIOCore
import NIOEmbedded
import Testing

@testable import Kafka

/// A connection over an in-memory channel: the test plays the broker by reading the frames the client wrote
/// and writing responses in. Time is the testing event loop's, advanced by hand.
private struct TestBroker {
    let channel: NIOAsyncTestingChannel
    let loop: NIOAsyncTestingEventLoop
    let connection: KafkaConnection

    init(requestTimeout: TimeAmount = .seconds(1)) async throws {
        let loop = NIOAsyncTestingEventLoop()
        let channel = try await NIOAsyncTestingChannel(loop: loop) { channel in
            try channel.pipeline.syncOperations.addHandler(KafkaChannelHandler(eventLoop: loop, logger: Logger(label: "KafkaTests")))
        }
        let handler = try await loop.submit {
            NIOLoopBound(try channel.pipeline.syncOperations.handler(type: KafkaChannelHandler.self), eventLoop: loop)
        }.get()
        var configuration = KafkaConnection.Configuration()
        configuration.clientID = "test"
        configuration.requestTimeout = requestTimeout
        self.channel = channel
        self.loop = loop
        self.connection = KafkaConnection(channel: channel, handler: handler, configuration: configuration)
        try await channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 9092)).get()
    }

    /// The next request the client wrote: its API key, version and correlation id (the frame is checked whole).
    func nextRequest() async throws -> (apiKey: Int16, version: Int16, correlationID: Int32) {
        let frame = try await self.channel.waitForOutboundWrite(as: ByteBuffer.self)
        let size = try #require(frame.getInteger(at: frame.readerIndex, as: Int32.self))
        #expect(Int(size) == frame.readableBytes - 4)
        let apiKey = try #require(frame.getInteger(at: frame.readerIndex + 4, as: Int16.self))
        let version = try #require(frame.getInteger(at: frame.readerIndex + 6, as: Int16.self))
        let correlationID = try #require(frame.getInteger(at: frame.readerIndex + 8, as: Int32.self))
        return (apiKey, version, correlationID)
    }

    /// A whole response frame: size, correlation id, empty tagged fields for header v1, then `body`.
    static func response(correlationID: Int32, headerVersion: Int16, body: [UInt8]) -> [UInt8] {
        var frame = ByteBuffer()
        frame.writeKafkaInt32(Int32(4 + (headerVersion >= 1 ? 1 : 0) + body.count))
        frame.writeKafkaInt32(correlationID)
        if headerVersion >= 1 {
            frame.writeKafkaEmptyTaggedFields()
        }
        frame.writeBytes(body)
        return Array(frame.readableBytesView)
    }

    /// Plays the broker: sends `bytes` to the client in one read.
    func send(_ bytes: [UInt8]) async throws {
        try await self.channel.writeInbound(ByteBuffer(bytes: bytes))
    }
}

/// An InitProducerId v4 response body granting `producerID`.
private func initProducerIDBody(producerID: Int64) -> [UInt8] {
    var body = ByteBuffer()
    body.writeKafkaInt32(0)
    body.writeKafkaInt16(0)
    body.writeKafkaInt64(producerID)
    body.writeKafkaInt16(0)
    body.writeKafkaEmptyTaggedFields()
    return Array(body.readableBytesView)
}

private func kafkaError(_ body: () async throws -> some Any) async -> KafkaError? {
    do {
        _ = try await body()
        return nil
    } catch let error as KafkaError {
        return error
    } catch {
        Issue.record("unexpected error \(error)")
        return nil
    }
}

@Suite struct KafkaChannelHandlerTests {
    @Test func aResponseSplitAcrossReadsIsReassembled() async throws {
        let broker = try await TestBroker()
        let response = Task { try await broker.connection.send(InitProducerIDRequest(), version: 4) }
        let request = try await broker.nextRequest()
        #expect(request.apiKey == 22)
        #expect(request.version == 4)
        let frame = TestBroker.response(correlationID: request.correlationID, headerVersion: 1, body: initProducerIDBody(producerID: 42))
        // Split inside the size, inside the header and inside the body.
        try await broker.send(Array(frame[0..<2]))
        try await broker.send(Array(frame[2..<7]))
        try await broker.send(Array(frame[7..<15]))
        try await broker.send(Array(frame[15...]))
        let decoded = try await response.value
        #expect(decoded.producerID == 42)
    }

    @Test func pipelinedRequestsAreAnsweredInOrder() async throws {
        let broker = try await TestBroker()
        let first = Task { try await broker.connection.send(InitProducerIDRequest(), version: 4) }
        let a = try await broker.nextRequest()
        let second = Task { try await broker.connection.send(InitProducerIDRequest(), version: 4) }
        let b = try await broker.nextRequest()
        #expect(a.correlationID != b.correlationID)
        // Both responses in one read, in the order the requests were written.
        try await broker.send(
            TestBroker.response(correlationID: a.correlationID, headerVersion: 1, body: initProducerIDBody(producerID: 1))
                + TestBroker.response(correlationID: b.correlationID, headerVersion: 1, body: initProducerIDBody(producerID: 2))
        )
        #expect(try await first.value.producerID == 1)
        #expect(try await second.value.producerID == 2)
    }

    @Test func aDeadlineFiresAndClosesTheConnection() async throws {
        let broker = try await TestBroker(requestTimeout: .seconds(1))
        let response = Task { try await broker.connection.send(InitProducerIDRequest(), version: 4) }
        _ = try await broker.nextRequest()
        await broker.loop.advanceTime(by: .milliseconds(999))
        // Not yet: the request is still pending on an open connection.
        #expect(broker.channel.isActive)
        await broker.loop.advanceTime(by: .milliseconds(2))
        let error = await kafkaError { try await response.value }
        #expect(error?.code == .timeout)
        try await broker.channel.closeFuture.get()
    }

    @Test func closingWithRequestsPendingFailsThemAll() async throws {
        let broker = try await TestBroker()
        let first = Task { try await broker.connection.send(InitProducerIDRequest(), version: 4) }
        _ = try await broker.nextRequest()
        let second = Task { try await broker.connection.send(MetadataRequest(topics: nil), version: 9) }
        _ = try await broker.nextRequest()
        try await broker.channel.close()
        #expect(await kafkaError { try await first.value }?.code == .connectionClosed)
        #expect(await kafkaError { try await second.value }?.code == .connectionClosed)
        // And a request after the close is refused without being written.
        let late = await kafkaError { try await broker.connection.send(InitProducerIDRequest(), version: 4) }
        #expect(late?.code == .connectionClosed)
    }

    @Test func aResponseWithTheWrongCorrelationIDClosesTheConnection() async throws {
        let broker = try await TestBroker()
        let response = Task { try await broker.connection.send(InitProducerIDRequest(), version: 4) }
        let request = try await broker.nextRequest()
        try await broker.send(
            TestBroker.response(correlationID: request.correlationID + 1, headerVersion: 1, body: initProducerIDBody(producerID: 1))
        )
        let error = await kafkaError { try await response.value }
        #expect(error?.code == .protocolError)
        try await broker.channel.closeFuture.get()
    }

    @Test func anOversizedFrameIsRefused() async throws {
        let broker = try await TestBroker()
        let response = Task { try await broker.connection.send(InitProducerIDRequest(), version: 4) }
        _ = try await broker.nextRequest()
        try await broker.send([0x7f, 0xff, 0xff, 0xff])
        let error = await kafkaError { try await response.value }
        #expect(error?.code == .protocolError)
        #expect(error?.message.contains("larger than the limit") == true)
    }

    @Test func versionsAreNegotiatedThenUsed() async throws {
        let broker = try await TestBroker()
        let negotiation = Task { try await broker.connection.negotiateVersions() }
        let first = try await broker.nextRequest()
        #expect(first.apiKey == 18)
        #expect(first.version == 3)
        // This broker only knows ApiVersions v0–v2: it refuses v3 in the v0 layout (header v0 as always).
        try await broker.send(
            TestBroker.response(correlationID: first.correlationID, headerVersion: 0, body: hex("00 23  00 00 00 01  00 12 00 00 00 02"))
        )
        let retry = try await broker.nextRequest()
        #expect(retry.apiKey == 18)
        #expect(retry.version == 2)
        let v2Body = hex("00 00  00 00 00 02  00 12 00 00 00 02  00 03 00 00 00 08  00 00 00 00")
        try await broker.send(TestBroker.response(correlationID: retry.correlationID, headerVersion: 0, body: v2Body))
        let versions = try await negotiation.value
        #expect(versions[.metadata] == 0...8)

        // Metadata now goes out at v8, the highest both support, with header v1 (no tagged fields).
        let metadata = Task { try await broker.connection.send(MetadataRequest(topics: []), timeout: .milliseconds(500)) }
        let request = try await broker.nextRequest()
        #expect(request.apiKey == 3)
        #expect(request.version == 8)
        let body = hex("00 00 00 00  00 00 00 00  ff ff  00 00 00 01  00 00 00 00  80 00 00 00")
        try await broker.send(TestBroker.response(correlationID: request.correlationID, headerVersion: 0, body: body))
        #expect(try await metadata.value.controllerID == 1)

        let missing = await kafkaError { try await broker.connection.send(InitProducerIDRequest()) }
        #expect(missing?.code == .unsupportedVersion)
    }

    @Test func aCancelledCallerFailsAndItsLateResponseIsDropped() async throws {
        let broker = try await TestBroker()
        let cancelled = Task { try await broker.connection.send(InitProducerIDRequest(), version: 4) }
        let a = try await broker.nextRequest()
        cancelled.cancel()
        #expect(await kafkaError { try await cancelled.value }?.code == .cancelled)
        let next = Task { try await broker.connection.send(InitProducerIDRequest(), version: 4) }
        let b = try await broker.nextRequest()
        try await broker.send(
            TestBroker.response(correlationID: a.correlationID, headerVersion: 1, body: initProducerIDBody(producerID: 1))
                + TestBroker.response(correlationID: b.correlationID, headerVersion: 1, body: initProducerIDBody(producerID: 2))
        )
        #expect(try await next.value.producerID == 2)
    }
}
