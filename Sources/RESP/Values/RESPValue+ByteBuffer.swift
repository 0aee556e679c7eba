import NIOCore

// MARK: Reading

extension ByteBuffer {
    /// Reads one complete top-level RESP value.
    ///
    /// Returns `nil`, and leaves the reader index where it was, when the buffer does not hold the whole value yet;
    /// `minimumBytes` is then set to a lower bound of the readable bytes the value needs, so the caller can skip
    /// re-parsing until that many have arrived. Throws `RedisClientError(.protocolError)` on malformed input or
    /// input beyond `limits`.
    mutating func readRESPFrame(limits: RESPDecoder.Limits, minimumBytes: inout Int) throws -> RESPFrame? {
        var reader = RESPReader(limits: limits, start: self.readerIndex)
        var copy = self
        guard let value = try reader.readValue(&copy, depth: 0) else {
            minimumBytes = reader.minimumBytes
            return nil
        }
        self = copy
        // A push (`>`) is only meaningful at the top level; nested ones are plain arrays.
        if reader.topLevelType == UInt8(ascii: ">") {
            return .push(value.array ?? [])
        }
        return .reply(value)
    }
}

/// Parses RESP values from a `ByteBuffer`, tracking how many bytes an incomplete value needs at least.
///
/// Recursion depth is bounded by `limits.maximumDepth`, so hostile nesting cannot exhaust the stack,
/// and every declared length or count is checked against `limits` before anything is allocated for it.
private struct RESPReader {
    let limits: RESPDecoder.Limits
    /// The reader index of the frame's first byte; `minimumBytes` counts from there.
    let start: Int
    var minimumBytes = 0
    /// The type of the top-level value, after any attributes.
    var topLevelType: UInt8?

    init(limits: RESPDecoder.Limits, start: Int) {
        self.limits = limits
        self.start = start
    }

    /// Records that the value needs `count` more bytes from `buffer`'s reader index, and returns nil.
    private mutating func needMore(_ buffer: ByteBuffer, _ count: Int) -> RESPValue? {
        let (needed, overflow) = (buffer.readerIndex - self.start).addingReportingOverflow(count)
        self.minimumBytes = overflow ? Int.max : needed
        return nil
    }

    mutating func readValue(_ buffer: inout ByteBuffer, depth: Int) throws -> RESPValue? {
        // Attributes (`|`) annotate the value that follows them; they are read and dropped.
        // A loop, not recursion, so a long run of attributes costs no stack.
        while true {
            guard let type = buffer.getInteger(at: buffer.readerIndex, as: UInt8.self) else {
                return self.needMore(buffer, 1)
            }
            guard type == UInt8(ascii: "|") else {
                if depth == 0 {
                    self.topLevelType = type
                }
                return try self.readNonAttributeValue(&buffer, type: type, depth: depth)
            }
            guard let count = try self.readAggregateCount(&buffer, elementsPerEntry: 2, depth: depth) else {
                return nil
            }
            for _ in 0..<count * 2 {
                guard try self.readValue(&buffer, depth: depth + 1) != nil else { return nil }
            }
        }
    }

    private mutating func readNonAttributeValue(_ buffer: inout ByteBuffer, type: UInt8, depth: Int) throws -> RESPValue? {
        switch type {
        case UInt8(ascii: "+"):
            guard let line = try self.readLine(&buffer) else { return nil }
            return .simpleString(String(decoding: line.readableBytesView, as: UTF8.self))

        case UInt8(ascii: "-"):
            guard let line = try self.readLine(&buffer) else { return nil }
            return .error(String(decoding: line.readableBytesView, as: UTF8.self))

        case UInt8(ascii: ":"):
            guard let line = try self.readLine(&buffer) else { return nil }
            guard let integer = Self.parseInteger(line) else {
                throw RESPDecoder.error("invalid integer \(Self.quoted(line))")
            }
            return .integer(integer)

        case UInt8(ascii: "$"):
            guard let bytes = try self.readBlob(&buffer, allowsNull: true) else { return nil }
            return bytes.map { .bulkString($0) } ?? .null

        case UInt8(ascii: "!"):
            guard let bytes = try self.readBlob(&buffer, allowsNull: false) else { return nil }
            return .error(String(decoding: (bytes ?? ByteBuffer()).readableBytesView, as: UTF8.self))

        case UInt8(ascii: "="):
            // Verbatim string: a three-letter format (`txt`, `mkd`), a colon, then the text.
            guard let bytes = try self.readBlob(&buffer, allowsNull: false) else { return nil }
            guard var text = bytes, text.readableBytes >= 4, text.getInteger(at: text.readerIndex + 3, as: UInt8.self) == UInt8(ascii: ":")
            else {
                throw RESPDecoder.error("verbatim string without a format prefix")
            }
            text.moveReaderIndex(forwardBy: 4)
            return .bulkString(text)

        case UInt8(ascii: "*"), UInt8(ascii: "~"), UInt8(ascii: ">"):
            guard let count = try self.readAggregateCount(&buffer, elementsPerEntry: 1, depth: depth) else { return nil }
            guard count >= 0 else { return .null }
            var elements: [RESPValue] = []
            elements.reserveCapacity(count)
            for _ in 0..<count {
                guard let element = try self.readValue(&buffer, depth: depth + 1) else { return nil }
                elements.append(element)
            }
            return .array(elements)

        case UInt8(ascii: "%"):
            guard let count = try self.readAggregateCount(&buffer, elementsPerEntry: 2, depth: depth) else { return nil }
            guard count >= 0 else { return .null }
            var map: [RESPValue: RESPValue] = [:]
            map.reserveCapacity(count)
            for _ in 0..<count {
                guard let key = try self.readValue(&buffer, depth: depth + 1),
                    let value = try self.readValue(&buffer, depth: depth + 1)
                else { return nil }
                map[key] = value
            }
            return .map(map)

        case UInt8(ascii: "_"):
            guard let line = try self.readLine(&buffer) else { return nil }
            guard line.readableBytes == 0 else {
                throw RESPDecoder.error("null with content \(Self.quoted(line))")
            }
            return .null

        case UInt8(ascii: ","):
            guard let line = try self.readLine(&buffer) else { return nil }
            guard let double = Self.parseDouble(line) else {
                throw RESPDecoder.error("invalid double \(Self.quoted(line))")
            }
            return .double(double)

        case UInt8(ascii: "#"):
            guard let line = try self.readLine(&buffer) else { return nil }
            switch Array(line.readableBytesView) {
            case [UInt8(ascii: "t")]: return .boolean(true)
            case [UInt8(ascii: "f")]: return .boolean(false)
            default: throw RESPDecoder.error("invalid boolean \(Self.quoted(line))")
            }

        case UInt8(ascii: "("):
            // Big numbers have no fixed width; they stay text, checked to be an integer.
            guard let line = try self.readLine(&buffer) else { return nil }
            var digits = line.readableBytesView
            if let sign = digits.first, sign == UInt8(ascii: "-") || sign == UInt8(ascii: "+") {
                digits = digits.dropFirst()
            }
            guard !digits.isEmpty, digits.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else {
                throw RESPDecoder.error("invalid big number \(Self.quoted(line))")
            }
            return .simpleString(String(decoding: line.readableBytesView, as: UTF8.self))

        default:
            throw RESPDecoder.error("unknown type byte 0x\(String(type, radix: 16))")
        }
    }

    /// Reads the type byte and the rest of a line up to CRLF, and returns the line without either.
    private mutating func readLine(_ buffer: inout ByteBuffer) throws -> ByteBuffer? {
        let body = buffer.readerIndex + 1
        let view = buffer.readableBytesView.dropFirst()
        guard let carriageReturn = view.firstIndex(of: UInt8(ascii: "\r")) else {
            guard view.count <= self.limits.maximumLineLength else {
                throw RESPDecoder.error("line longer than \(self.limits.maximumLineLength) bytes")
            }
            _ = self.needMore(buffer, buffer.readableBytes + 1)
            return nil
        }
        guard carriageReturn - body <= self.limits.maximumLineLength else {
            throw RESPDecoder.error("line longer than \(self.limits.maximumLineLength) bytes")
        }
        guard let lineFeed = buffer.getInteger(at: carriageReturn + 1, as: UInt8.self) else {
            _ = self.needMore(buffer, carriageReturn + 2 - buffer.readerIndex)
            return nil
        }
        guard lineFeed == UInt8(ascii: "\n") else {
            throw RESPDecoder.error("carriage return not followed by line feed")
        }
        // Both indices lie within the readable bytes checked above.
        let line = buffer.getSlice(at: body, length: carriageReturn - body) ?? ByteBuffer()
        buffer.moveReaderIndex(to: carriageReturn + 2)
        return line
    }

    /// Reads a length-prefixed string (`$`, `!`, `=`). The outer optional is nil when more bytes are needed;
    /// the inner one is nil for a RESP2 null bulk string (`$-1`).
    private mutating func readBlob(_ buffer: inout ByteBuffer, allowsNull: Bool) throws -> ByteBuffer?? {
        var cursor = buffer
        guard let line = try self.readLine(&cursor) else { return nil }
        guard let length = Self.parseInteger(line), length >= -1 else {
            throw RESPDecoder.error("invalid length \(Self.quoted(line))")
        }
        if length == -1 {
            guard allowsNull else { throw RESPDecoder.error("invalid length -1") }
            buffer = cursor
            return .some(nil)
        }
        guard length <= self.limits.maximumBulkLength else {
            throw RESPDecoder.error("bulk string of \(length) bytes is over the limit of \(self.limits.maximumBulkLength)")
        }
        let count = Int(length)
        guard cursor.readableBytes >= count + 2 else {
            _ = self.needMore(cursor, count + 2)
            return nil
        }
        guard let bytes = cursor.readSlice(length: count),
            cursor.readInteger(as: UInt16.self) == UInt16(UInt8(ascii: "\r")) << 8 | UInt16(UInt8(ascii: "\n"))
        else {
            throw RESPDecoder.error("bulk string not terminated by CRLF")
        }
        buffer = cursor
        return .some(bytes)
    }

    /// Reads an aggregate's header and returns its count of entries (-1 for a RESP2 null array),
    /// or nil when more bytes are needed. Checks the depth and count limits, and that the buffer
    /// could hold the entries, so an absurd count neither allocates nor triggers a long parse.
    private mutating func readAggregateCount(_ buffer: inout ByteBuffer, elementsPerEntry: Int, depth: Int) throws -> Int? {
        guard depth < self.limits.maximumDepth else {
            throw RESPDecoder.error("nesting deeper than \(self.limits.maximumDepth) levels")
        }
        var cursor = buffer
        guard let line = try self.readLine(&cursor) else { return nil }
        guard let count = Self.parseInteger(line), count >= -1 else {
            throw RESPDecoder.error("invalid count \(Self.quoted(line))")
        }
        if count == -1 {
            guard buffer.getInteger(at: buffer.readerIndex, as: UInt8.self) == UInt8(ascii: "*") else {
                throw RESPDecoder.error("invalid count -1")
            }
            buffer = cursor
            return -1
        }
        guard count <= self.limits.maximumAggregateCount else {
            throw RESPDecoder.error("aggregate of \(count) entries is over the limit of \(self.limits.maximumAggregateCount)")
        }
        // Every element takes at least three bytes ("_\r\n").
        let smallest = Int(count) * elementsPerEntry * 3
        guard cursor.readableBytes >= smallest else {
            _ = self.needMore(cursor, smallest)
            return nil
        }
        buffer = cursor
        return Int(count)
    }

    /// Parses a decimal integer with an optional sign, rejecting anything else and overflow.
    static func parseInteger(_ line: ByteBuffer) -> Int64? {
        var digits = line.readableBytesView
        var negative = false
        if let sign = digits.first, sign == UInt8(ascii: "-") || sign == UInt8(ascii: "+") {
            negative = sign == UInt8(ascii: "-")
            digits = digits.dropFirst()
        }
        guard !digits.isEmpty, digits.count <= 20 else { return nil }
        // Accumulated as a negative number, whose range includes Int64.min.
        var value: Int64 = 0
        for byte in digits {
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
            let (shifted, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = shifted.subtractingReportingOverflow(Int64(byte - UInt8(ascii: "0")))
            guard !overflow1, !overflow2 else { return nil }
            value = sum
        }
        if negative {
            return value
        }
        return value == .min ? nil : -value
    }

    private static func parseDouble(_ line: ByteBuffer) -> Double? {
        let text = String(decoding: line.readableBytesView, as: UTF8.self)
        switch text.lowercased() {
        case "inf", "+inf": return .infinity
        case "-inf": return -.infinity
        case "nan", "-nan": return .nan
        default:
            // Double(_:) also accepts "infinity" and hex floats; RESP only has decimal digits, signs, '.', 'e'.
            guard text.utf8.allSatisfy({ "0123456789+-.eE".utf8.contains($0) }) else { return nil }
            return Double(text)
        }
    }

    private static func quoted(_ line: ByteBuffer) -> String {
        let text = String(decoding: line.readableBytesView.prefix(40), as: UTF8.self)
        return "\"\(text)\(line.readableBytes > 40 ? "…" : "")\""
    }
}

// MARK: Writing

extension ByteBuffer {
    /// Writes `value` in RESP3. Used to play the server's part in tests.
    mutating func writeRESPValue(_ value: RESPValue) {
        switch value {
        case .simpleString(let string):
            self.writeRESPLine(prefix: "+", string)
        case .error(let message):
            self.writeRESPLine(prefix: "-", message)
        case .integer(let integer):
            self.writeRESPLine(prefix: ":", String(integer))
        case .double(let double):
            let text =
                if double.isNaN { "nan" } else if double.isInfinite { double < 0 ? "-inf" : "inf" } else { String(double) }
            self.writeRESPLine(prefix: ",", text)
        case .boolean(let boolean):
            self.writeRESPLine(prefix: "#", boolean ? "t" : "f")
        case .null:
            self.writeRESPLine(prefix: "_", "")
        case .bulkString(let bytes):
            self.writeRESPBulkString(bytes)
        case .array(let elements):
            self.writeRESPLine(prefix: "*", String(elements.count))
            for element in elements {
                self.writeRESPValue(element)
            }
        case .map(let map):
            self.writeRESPLine(prefix: "%", String(map.count))
            for (key, value) in map {
                self.writeRESPValue(key)
                self.writeRESPValue(value)
            }
        }
    }

    mutating func writeRESPBulkString(_ bytes: ByteBuffer) {
        self.writeRESPLine(prefix: "$", String(bytes.readableBytes))
        self.writeImmutableBuffer(bytes)
        self.writeStaticString("\r\n")
    }

    mutating func writeRESPLine(prefix: StaticString, _ text: String) {
        self.writeStaticString(prefix)
        self.writeString(text)
        self.writeStaticString("\r\n")
    }
}
