import NIOCore

/// Splits the broker's byte stream into responses: each is an INT32 size, then that many bytes
/// (the response header and body), which are returned without the size.
struct KafkaFrameDecoder: NIOSingleStepByteToMessageDecoder {
    typealias InboundOut = ByteBuffer

    /// Larger responses are refused: a broken or hostile size must not make the client buffer without bound.
    let maximumFrameSize: Int

    init(maximumFrameSize: Int = 100 * 1024 * 1024) {
        self.maximumFrameSize = maximumFrameSize
    }

    mutating func decode(buffer: inout ByteBuffer) throws -> ByteBuffer? {
        guard let size = buffer.getInteger(at: buffer.readerIndex, endianness: .big, as: Int32.self) else {
            return nil
        }
        // Four bytes at least: every response header starts with the correlation id.
        guard size >= 4 else {
            throw KafkaError(.protocolError, message: "response size \(size) is too small for a response header")
        }
        guard Int(size) <= self.maximumFrameSize else {
            throw KafkaError(.protocolError, message: "response of \(size) bytes is larger than the limit of \(self.maximumFrameSize)")
        }
        guard buffer.readableBytes >= 4 + Int(size) else {
            return nil
        }
        buffer.moveReaderIndex(forwardBy: 4)
        return buffer.readSlice(length: Int(size))
    }

    mutating func decodeLast(buffer: inout ByteBuffer, seenEOF: Bool) throws -> ByteBuffer? {
        // A partial response left at EOF is dropped: its request fails with connectionClosed anyway.
        try self.decode(buffer: &buffer)
    }
}
