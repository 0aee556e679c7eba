import NIOCore

/// The part of an HTTP/1.1 response a load generator needs: its status, and whether the
/// server will close the connection after it.
public struct HTTPAnswer: Sendable, Equatable {
    public var status: Int
    public var closes: Bool
}

/// A small HTTP/1.1 response decoder: status line, `Content-Length` or chunked bodies
/// (skipped, not kept), `Connection: close`. Cheaper than a general parser because it
/// allocates nothing per response; anything malformed is an error that closes the
/// connection (counted as a network error).
public struct ResponseDecoder: ByteToMessageDecoder {
    public typealias InboundOut = HTTPAnswer

    public enum DecodingError: Error, Equatable {
        case malformedStatusLine
        case malformedHeader
        case headTooLarge
        case malformedChunk
    }

    static let maxHeadBytes = 64 * 1024

    public init() {}

    public mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let (answer, length) = try Self.parse(buffer) else { return .needMoreData }
        buffer.moveReaderIndex(forwardBy: length)
        context.fireChannelRead(wrapInboundOut(answer))
        return .continue
    }

    public mutating func decodeLast(
        context: ChannelHandlerContext,
        buffer: inout ByteBuffer,
        seenEOF: Bool
    ) throws -> DecodingState {
        while try decode(context: context, buffer: &buffer) == .continue {}
        return .needMoreData
    }

    /// One whole response at the start of `buffer` and its length in bytes, or nil if the
    /// buffer holds only part of one.
    static func parse(_ buffer: ByteBuffer) throws(DecodingError) -> (HTTPAnswer, Int)? {
        let result: Result<(HTTPAnswer, Int)?, DecodingError> = buffer.withUnsafeReadableBytes { bytes in
            do throws(DecodingError) {
                return .success(try parse(bytes))
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }

    static func parse(_ bytes: UnsafeRawBufferPointer) throws(DecodingError) -> (HTTPAnswer, Int)? {
        // "HTTP/1.1 200 " is the shortest useful start.
        guard bytes.count >= 13 else { return nil }
        guard bytes[0] == UInt8(ascii: "H"), bytes[8] == UInt8(ascii: " ") else { throw .malformedStatusLine }
        var status = 0
        for index in 9..<12 {
            let digit = bytes[index] &- UInt8(ascii: "0")
            guard digit <= 9 else { throw .malformedStatusLine }
            status = status * 10 + Int(digit)
        }
        var closes = bytes[5] == UInt8(ascii: "1") && bytes[7] == UInt8(ascii: "0")  // HTTP/1.0
        var contentLength: Int?
        var chunked = false

        // Walk the header lines after the status line.
        guard var lineStart = lineEnd(bytes, from: 12).map({ $0 + 2 }) else {
            return try incomplete(bytes.count)
        }
        while true {
            guard let end = lineEnd(bytes, from: lineStart) else { return try incomplete(bytes.count) }
            if end == lineStart {  // the empty line ends the head
                lineStart = end + 2
                break
            }
            guard let colon = (lineStart..<end).first(where: { bytes[$0] == UInt8(ascii: ":") }) else {
                throw .malformedHeader
            }
            let name = UnsafeRawBufferPointer(rebasing: bytes[lineStart..<colon])
            var valueStart = colon + 1
            while valueStart < end, bytes[valueStart] == UInt8(ascii: " ") || bytes[valueStart] == UInt8(ascii: "\t") {
                valueStart += 1
            }
            let value = UnsafeRawBufferPointer(rebasing: bytes[valueStart..<end])
            if equalsIgnoringCase(name, "content-length") {
                var length = 0
                guard !value.isEmpty, value.count <= 12 else { throw .malformedHeader }
                for byte in value {
                    let digit = byte &- UInt8(ascii: "0")
                    guard digit <= 9 else { throw .malformedHeader }
                    length = length * 10 + Int(digit)
                }
                contentLength = length
            } else if equalsIgnoringCase(name, "transfer-encoding") {
                chunked = containsIgnoringCase(value, "chunked")
            } else if equalsIgnoringCase(name, "connection") {
                if containsIgnoringCase(value, "close") { closes = true }
                if containsIgnoringCase(value, "keep-alive") { closes = false }
            }
            lineStart = end + 2
        }

        let answer = HTTPAnswer(status: status, closes: closes)
        // 1xx, 204 and 304 have no body.
        if status < 200 || status == 204 || status == 304 { return (answer, lineStart) }
        if chunked {
            guard let end = try chunkedBodyEnd(bytes, from: lineStart) else { return nil }
            return (answer, end)
        }
        let length = contentLength ?? 0
        guard bytes.count - lineStart >= length else { return nil }
        return (answer, lineStart + length)
    }

    private static func incomplete(_ count: Int) throws(DecodingError) -> (HTTPAnswer, Int)? {
        guard count < maxHeadBytes else { throw .headTooLarge }
        return nil
    }

    /// The index of the "\r\n" at or after `start`.
    private static func lineEnd(_ bytes: UnsafeRawBufferPointer, from start: Int) -> Int? {
        var index = start
        while index + 1 < bytes.count {
            if bytes[index] == UInt8(ascii: "\r"), bytes[index + 1] == UInt8(ascii: "\n") { return index }
            index += 1
        }
        return nil
    }

    /// Where a chunked body starting at `start` ends (after its last CRLF), or nil if incomplete.
    private static func chunkedBodyEnd(_ bytes: UnsafeRawBufferPointer, from start: Int) throws(DecodingError) -> Int? {
        var position = start
        while true {
            guard let end = lineEnd(bytes, from: position) else { return nil }
            var size = 0
            var sawDigit = false
            for index in position..<end {
                let byte = bytes[index]
                let digit: Int
                switch byte {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = Int(byte - UInt8(ascii: "0"))
                case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = Int(byte - UInt8(ascii: "a")) + 10
                case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = Int(byte - UInt8(ascii: "A")) + 10
                case UInt8(ascii: ";"), UInt8(ascii: " "): digit = -1
                default: throw .malformedChunk
                }
                if digit < 0 { break }
                guard size < 1 << 40 else { throw .malformedChunk }
                size = size * 16 + digit
                sawDigit = true
            }
            guard sawDigit else { throw .malformedChunk }
            position = end + 2
            if size == 0 {
                // Trailers (usually none), then the empty line.
                while true {
                    guard let trailerEnd = lineEnd(bytes, from: position) else { return nil }
                    if trailerEnd == position { return position + 2 }
                    position = trailerEnd + 2
                }
            }
            guard bytes.count - position >= size + 2 else { return nil }
            position += size
            guard bytes[position] == UInt8(ascii: "\r"), bytes[position + 1] == UInt8(ascii: "\n") else {
                throw .malformedChunk
            }
            position += 2
        }
    }

    private static func equalsIgnoringCase(_ bytes: UnsafeRawBufferPointer, _ text: StaticString) -> Bool {
        guard bytes.count == text.utf8CodeUnitCount else { return false }
        let expected = UnsafeRawBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount)
        for index in 0..<bytes.count where bytes[index] | 0x20 != expected[index] {
            return false
        }
        return true
    }

    private static func containsIgnoringCase(_ bytes: UnsafeRawBufferPointer, _ text: StaticString) -> Bool {
        let needle = UnsafeRawBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount)
        guard bytes.count >= needle.count else { return false }
        outer: for start in 0...(bytes.count - needle.count) {
            for offset in 0..<needle.count where bytes[start + offset] | 0x20 != needle[offset] {
                continue outer
            }
            return true
        }
        return false
    }
}
