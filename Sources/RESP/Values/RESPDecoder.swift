import NIOCore

/// One top-level message from the server.
enum RESPFrame: Sendable, Hashable {
    /// A reply to the oldest command still waiting.
    case reply(RESPValue)
    /// A RESP3 out-of-band push (`>`: pub/sub messages, client-side caching invalidations); never a reply.
    case push([RESPValue])
}

/// Splits the server's byte stream into RESP frames.
///
/// Returns `nil` until a whole frame has arrived. Limits bound what a broken or hostile server can make it do:
/// nesting depth (stack), string and aggregate sizes and the bytes buffered for one frame (memory).
struct RESPDecoder: NIOSingleStepByteToMessageDecoder {
    typealias InboundOut = RESPFrame

    struct Limits: Sendable, Hashable {
        /// Aggregates nested deeper than this are refused (each level is a stack frame of the parser).
        var maximumDepth = 32
        /// Longest bulk string accepted; Redis itself caps strings at 512 MiB.
        var maximumBulkLength: Int64 = 64 * 1024 * 1024
        /// Most elements (or map entries) accepted in one aggregate.
        var maximumAggregateCount: Int64 = 1024 * 1024
        /// Longest simple line (simple string, error, number) accepted.
        var maximumLineLength = 64 * 1024
        /// Most bytes buffered while a single frame is incomplete.
        var maximumFrameSize = 256 * 1024 * 1024

        init() {}
    }

    let limits: Limits
    /// A lower bound of the bytes the incomplete frame at the front of the buffer needs;
    /// parsing is not retried before that many have arrived (keeps big replies linear).
    private var minimumBytes = 0

    init(limits: Limits = Limits()) {
        self.limits = limits
    }

    mutating func decode(buffer: inout ByteBuffer) throws -> RESPFrame? {
        guard buffer.readableBytes >= self.minimumBytes else {
            return nil
        }
        if let frame = try buffer.readRESPFrame(limits: self.limits, minimumBytes: &self.minimumBytes) {
            self.minimumBytes = 0
            return frame
        }
        // The hint covers a declared length that the frame could only reach past the limit.
        guard max(buffer.readableBytes, self.minimumBytes) <= self.limits.maximumFrameSize else {
            throw Self.error("reply larger than \(self.limits.maximumFrameSize) bytes")
        }
        return nil
    }

    mutating func decodeLast(buffer: inout ByteBuffer, seenEOF: Bool) throws -> RESPFrame? {
        // A partial frame left at EOF is dropped: the pending commands fail with connectionClosed anyway.
        try self.decode(buffer: &buffer)
    }

    static func error(_ message: String) -> RedisClientError {
        RedisClientError(.protocolError, message: "invalid RESP: \(message)")
    }
}
