import CouponTestSupport
import Logging
import NIOCore
import NIOEmbedded
import Testing

@testable import RESP

/// A connection over an in-memory channel: the test plays the server by reading the bytes the
/// client wrote and writing replies in. Time is the testing event loop's, advanced by hand.
private struct TestConnection {
    let channel: NIOAsyncTestingChannel
    let loop: NIOAsyncTestingEventLoop
    let connection: RedisConnection
    let ready: EventLoopFuture<Void>

    init(handshake: [RedisCommand] = [], commandTimeout: TimeAmount = .seconds(1)) async throws {
        let loop = NIOAsyncTestingEventLoop()
        let ready = loop.makePromise(of: Void.self)
        let channel = try await NIOAsyncTestingChannel(loop: loop) { channel in
            let handler = RedisChannelHandler(
                handshake: handshake,
                handshakeTimeout: .seconds(1),
                readyPromise: ready,
                logger: Logger(label: "RESPTests")
            )
            try channel.pipeline.syncOperations.addHandler(handler)
        }
        let handler = try await loop.submit {
            NIOLoopBound(try channel.pipeline.syncOperations.handler(type: RedisChannelHandler.self), eventLoop: loop)
        }.get()
        self.channel = channel
        self.loop = loop
        self.ready = ready.futureResult
        self.connection = RedisConnection(channel: channel, handler: handler, commandTimeout: commandTimeout)
        try await channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 6379)).get()
    }

    /// The next bytes the client wrote, as text.
    func written() async throws -> String {
        String(buffer: try await self.channel.waitForOutboundWrite(as: ByteBuffer.self))
    }

    /// Plays the server: sends `text` to the client.
    func reply(_ text: String) async throws {
        try await self.channel.writeInbound(ByteBuffer(string: text))
    }
}

/// The RESP encoding of a command, for comparing with what the client wrote.
private func wire(_ parts: String...) -> String {
    "*\(parts.count)\r\n" + parts.map { "$\($0.utf8.count)\r\n\($0)\r\n" }.joined()
}

@Suite struct RedisChannelHandlerTests {
    @Test func handshakeIsWrittenAndReadyAfterItsReplies() async throws {
        let test = try await TestConnection(handshake: [.hello(username: "app", password: "pw"), .select(database: 3)])
        #expect(try await test.written() == wire("HELLO", "3", "AUTH", "app", "pw") + wire("SELECT", "3"))
        try await test.reply("%1\r\n+server\r\n+redis\r\n")
        // Not ready after the first of two replies: commands are still refused.
        let early = await clientError { try await test.connection.send(RedisCommand("PING")) }
        #expect(early?.code == .unavailable)
        try await test.reply("+OK\r\n")
        try await test.ready.get()
        let reply = Task { try await test.connection.send(RedisCommand("PING")) }
        #expect(try await test.written() == wire("PING"))
        try await test.reply("+PONG\r\n")
        #expect(try await reply.value == .simpleString("PONG"))
    }

    @Test func wrongPasswordFailsTheHandshakeAndCloses() async throws {
        let test = try await TestConnection(handshake: [.hello(username: nil, password: "wrong")])
        _ = try await test.written()
        try await test.reply("-WRONGPASS invalid username-password pair or user is disabled.\r\n")
        let error = await clientError { try await test.ready.get() }
        #expect(error?.code == .serverError)
        #expect(error?.message == "HELLO failed: WRONGPASS invalid username-password pair or user is disabled.")
        try await test.channel.closeFuture.get()
    }

    @Test func pipelinedRepliesAreMatchedInOrder() async throws {
        let test = try await TestConnection()
        try await test.ready.get()
        // Several callers send before any reply arrives; each gets the reply to its own command.
        let replies = try await withThrowingTaskGroup(of: (Int, RESPValue).self) { group in
            for index in 0..<20 {
                group.addTask {
                    (index, try await test.connection.send(RedisCommand("GET", [.string("key\(index)")])))
                }
            }
            var order: [Int] = []
            for _ in 0..<20 {
                let written = try await test.written()
                let key = written.split(separator: "\r\n").last.map(String.init) ?? ""
                order.append(Int(key.dropFirst(3)) ?? -1)
            }
            // Reply in the order the commands were written, each with its key's own value.
            for index in order {
                try await test.reply("$\("value\(index)".utf8.count)\r\nvalue\(index)\r\n")
            }
            var results: [Int: RESPValue] = [:]
            for try await (index, value) in group {
                results[index] = value
            }
            return results
        }
        #expect(replies.count == 20)
        for (index, value) in replies {
            #expect(value.string == "value\(index)")
        }
    }

    @Test func pipelineReturnsRepliesInOrderWithErrorsAsValues() async throws {
        let test = try await TestConnection()
        let replies = Task {
            try await test.connection.pipeline([RedisCommand("SET", ["k", "v"]), RedisCommand("INCR", ["k"]), RedisCommand("GET", ["k"])])
        }
        // One write for the whole pipeline.
        #expect(try await test.written() == wire("SET", "k", "v") + wire("INCR", "k") + wire("GET", "k"))
        try await test.reply("+OK\r\n-ERR value is not an integer or out of range\r\n$1\r\nv\r\n")
        #expect(
            try await replies.value == [
                .simpleString("OK"), .error("ERR value is not an integer or out of range"), .bulkString(ByteBuffer(string: "v")),
            ]
        )
    }

    @Test func errorReplyIsThrownAsServerError() async throws {
        let test = try await TestConnection()
        let reply = Task { try await test.connection.send(RedisCommand("EVALSHA", ["ffffffffffffffffffffffffffffffffffffffff", 0])) }
        #expect(try await test.written() == wire("EVALSHA", "ffffffffffffffffffffffffffffffffffffffff", "0"))
        try await test.reply("-NOSCRIPT No matching script. Please use EVAL.\r\n")
        let error = await clientError { try await reply.value }
        #expect(error?.code == .serverError)
        #expect(error?.message == "NOSCRIPT No matching script. Please use EVAL.")
    }

    @Test func closeFailsEveryPendingCommand() async throws {
        let test = try await TestConnection()
        let answered = Task { try await test.connection.send(RedisCommand("GET", ["a"])) }
        _ = try await test.written()
        let single = Task { try await test.connection.send(RedisCommand("GET", ["b"])) }
        _ = try await test.written()
        let pipelined = Task { try await test.connection.pipeline([RedisCommand("GET", ["c"]), RedisCommand("GET", ["d"])]) }
        _ = try await test.written()
        // The server answers only the first command, then the connection drops.
        try await test.reply("$1\r\nx\r\n")
        #expect(try await answered.value == .bulkString(ByteBuffer(string: "x")))
        try await test.channel.close()
        let singleError = await clientError { try await single.value }
        let pipelineError = await clientError { try await pipelined.value }
        #expect(singleError?.code == .connectionClosed)
        #expect(pipelineError?.code == .connectionClosed)
        // Later commands fail at once, as not sent (safe to retry elsewhere).
        let late = await clientError { try await test.connection.send(RedisCommand("PING")) }
        #expect(late?.code == .unavailable)
    }

    @Test func deadlineExpiryFailsWithTimeoutAndClosesTheChannel() async throws {
        let test = try await TestConnection(commandTimeout: .milliseconds(200))
        let slow = Task { try await test.connection.send(RedisCommand("DEBUG", ["SLEEP", "2"])) }
        #expect(try await test.written() == wire("DEBUG", "SLEEP", "2"))
        await test.loop.advanceTime(by: .milliseconds(199))
        #expect(test.channel.isActive)
        await test.loop.advanceTime(by: .milliseconds(1))
        let error = await clientError { try await slow.value }
        #expect(error?.code == .timeout)
        try await test.channel.closeFuture.get()
        #expect(!test.channel.isActive)
    }

    @Test func answeredCommandsDoNotTimeOut() async throws {
        let test = try await TestConnection(commandTimeout: .milliseconds(200))
        for index in 0..<5 {
            let reply = Task { try await test.connection.send(RedisCommand("INCR", ["n"])) }
            _ = try await test.written()
            try await test.reply(":\(index)\r\n")
            #expect(try await reply.value == .integer(Int64(index)))
            await test.loop.advanceTime(by: .milliseconds(150))
        }
        #expect(test.channel.isActive)
    }

    @Test func pushFramesAreNotTakenForReplies() async throws {
        let test = try await TestConnection()
        let reply = Task { try await test.connection.send(RedisCommand("GET", ["k"])) }
        _ = try await test.written()
        // An invalidation push arrives before the reply, and another in the middle of it.
        try await test.reply(">2\r\n$10\r\ninvalidate\r\n*1\r\n$1\r\nk\r\n$5\r\nva")
        try await test.reply("lue\r\n>3\r\n$7\r\nmessage\r\n$1\r\nc\r\n$1\r\nm\r\n")
        #expect(try await reply.value == .bulkString(ByteBuffer(string: "value")))
        #expect(test.channel.isActive)
    }

    @Test func invalidRESPFailsPendingWithProtocolErrorAndCloses() async throws {
        let test = try await TestConnection()
        let reply = Task { try await test.connection.send(RedisCommand("PING")) }
        _ = try await test.written()
        try await test.reply("?garbage\r\n")
        let error = await clientError { try await reply.value }
        #expect(error?.code == .protocolError)
        try await test.channel.closeFuture.get()
    }

    @Test func unsolicitedReplyClosesTheConnection() async throws {
        let test = try await TestConnection()
        try await test.reply("+OK\r\n")
        try await test.channel.closeFuture.get()
        #expect(!test.channel.isActive)
    }

    @Test func cancelledCallerGetsCancelledAndTheNextCallerItsOwnReply() async throws {
        let test = try await TestConnection()
        let cancelled = Task { try await test.connection.send(RedisCommand("GET", ["first"])) }
        _ = try await test.written()
        cancelled.cancel()
        let error = await clientError { try await cancelled.value }
        #expect(error?.code == .cancelled)
        let second = Task { try await test.connection.send(RedisCommand("GET", ["second"])) }
        _ = try await test.written()
        try await test.reply("$5\r\nfirst\r\n$6\r\nsecond\r\n")
        #expect(try await second.value == .bulkString(ByteBuffer(string: "second")))
    }
}
