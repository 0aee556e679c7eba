import NIOCore

// The primitive types of the Kafka protocol (https://kafka.apache.org/protocol#protocol_types).
//
// Every read returns nil, leaving the reader index where it was, when the buffer does not hold the whole value yet,
// and throws `KafkaError(.protocolError)` when the bytes cannot be a valid value (a varint too long, a negative
// length other than -1, invalid UTF-8). Nullable reads return `T??`: the outer nil means "bytes missing",
// an inner nil is the protocol's null. Writes throw `.invalidArgument` for values the format cannot carry.

// MARK: Fixed-width integers

extension ByteBuffer {
    mutating func readKafkaInt8() -> Int8? { self.readInteger(endianness: .big, as: Int8.self) }
    mutating func readKafkaInt16() -> Int16? { self.readInteger(endianness: .big, as: Int16.self) }
    mutating func readKafkaInt32() -> Int32? { self.readInteger(endianness: .big, as: Int32.self) }
    mutating func readKafkaInt64() -> Int64? { self.readInteger(endianness: .big, as: Int64.self) }
    mutating func readKafkaUInt32() -> UInt32? { self.readInteger(endianness: .big, as: UInt32.self) }

    /// BOOLEAN: one byte, 0 is false and anything else true (as the Java client reads it).
    mutating func readKafkaBoolean() -> Bool? { self.readKafkaInt8().map { $0 != 0 } }

    mutating func writeKafkaInt8(_ value: Int8) { self.writeInteger(value, endianness: .big) }
    mutating func writeKafkaInt16(_ value: Int16) { self.writeInteger(value, endianness: .big) }
    mutating func writeKafkaInt32(_ value: Int32) { self.writeInteger(value, endianness: .big) }
    mutating func writeKafkaInt64(_ value: Int64) { self.writeInteger(value, endianness: .big) }
    mutating func writeKafkaUInt32(_ value: UInt32) { self.writeInteger(value, endianness: .big) }
    mutating func writeKafkaBoolean(_ value: Bool) { self.writeKafkaInt8(value ? 1 : 0) }
}

// MARK: Variable-length integers

extension ByteBuffer {
    /// UNSIGNED_VARINT: 7 bits a byte, least significant group first, high bit set on all but the last byte.
    mutating func readKafkaUnsignedVarint() throws -> UInt32? {
        guard let value = try self.readKafkaVarintBits(maximumBytes: 5) else { return nil }
        guard value <= UInt64(UInt32.max) else {
            throw KafkaError(.protocolError, message: "unsigned varint \(value) does not fit in 32 bits")
        }
        return UInt32(value)
    }

    /// VARINT: a zigzag-encoded signed 32-bit integer, so small negative numbers stay short.
    mutating func readKafkaVarint() throws -> Int32? {
        guard let bits = try self.readKafkaUnsignedVarint() else { return nil }
        return Int32(bitPattern: (bits >> 1) ^ (0 &- (bits & 1)))
    }

    /// VARLONG: a zigzag-encoded signed 64-bit integer.
    mutating func readKafkaVarlong() throws -> Int64? {
        guard let bits = try self.readKafkaVarintBits(maximumBytes: 10) else { return nil }
        return Int64(bitPattern: (bits >> 1) ^ (0 &- (bits & 1)))
    }

    mutating func writeKafkaUnsignedVarint(_ value: UInt32) {
        self.writeKafkaVarintBits(UInt64(value))
    }

    mutating func writeKafkaVarint(_ value: Int32) {
        self.writeKafkaUnsignedVarint(UInt32(bitPattern: (value << 1) ^ (value >> 31)))
    }

    mutating func writeKafkaVarlong(_ value: Int64) {
        self.writeKafkaVarintBits(UInt64(bitPattern: (value << 1) ^ (value >> 63)))
    }

    /// The encoded size of a zigzag varint, for length prefixes computed before writing.
    static func kafkaVarintSize(_ value: Int32) -> Int {
        var bits = UInt32(bitPattern: (value << 1) ^ (value >> 31))
        var size = 1
        while bits >= 0x80 {
            bits >>= 7
            size += 1
        }
        return size
    }

    private mutating func readKafkaVarintBits(maximumBytes: Int) throws -> UInt64? {
        var value: UInt64 = 0
        var index = self.readerIndex
        for byteNumber in 0..<maximumBytes {
            guard let byte = self.getInteger(at: index, as: UInt8.self) else { return nil }
            index += 1
            let payload = UInt64(byte & 0x7f)
            let shift = UInt64(7 * byteNumber)
            // The last byte may only carry the bits that are left (4 of a 32-bit, 1 of a 64-bit value).
            guard payload <= (UInt64.max >> shift) else {
                throw KafkaError(.protocolError, message: "varint overflows \(maximumBytes == 5 ? 32 : 64) bits")
            }
            value |= payload << shift
            if byte & 0x80 == 0 {
                self.moveReaderIndex(to: index)
                return value
            }
        }
        throw KafkaError(.protocolError, message: "varint longer than \(maximumBytes) bytes")
    }

    private mutating func writeKafkaVarintBits(_ value: UInt64) {
        var remaining = value
        while remaining >= 0x80 {
            self.writeInteger(UInt8(truncatingIfNeeded: remaining) | 0x80)
            remaining >>= 7
        }
        self.writeInteger(UInt8(remaining))
    }
}

// MARK: Strings and bytes

extension ByteBuffer {
    /// STRING: an INT16 length, then that many UTF-8 bytes; null (-1) is refused.
    mutating func readKafkaString() throws -> String? {
        try self.atomically { buffer in
            guard let length = buffer.readKafkaInt16() else { return nil }
            guard length >= 0 else {
                throw KafkaError(.protocolError, message: "STRING has length \(length), but is not nullable")
            }
            return try buffer.readKafkaUTF8(length: Int(length))
        }
    }

    /// NULLABLE_STRING: as STRING, with length -1 for null.
    mutating func readKafkaNullableString() throws -> String?? {
        try self.atomically { buffer -> String?? in
            guard let length = buffer.readKafkaInt16() else { return .none }
            if length == -1 { return .some(nil) }
            guard length >= 0 else {
                throw KafkaError(.protocolError, message: "NULLABLE_STRING has length \(length)")
            }
            guard let string = try buffer.readKafkaUTF8(length: Int(length)) else { return .none }
            return .some(string)
        }
    }

    /// BYTES / NULLABLE_BYTES: an INT32 length (-1 for null), then the bytes.
    mutating func readKafkaNullableBytes() throws -> ByteBuffer?? {
        try self.atomically { buffer -> ByteBuffer?? in
            guard let length = buffer.readKafkaInt32() else { return .none }
            if length == -1 { return .some(nil) }
            guard length >= 0 else {
                throw KafkaError(.protocolError, message: "BYTES has length \(length)")
            }
            guard let bytes = buffer.readSlice(length: Int(length)) else { return .none }
            return .some(bytes)
        }
    }

    /// BYTES: as NULLABLE_BYTES, with null refused.
    mutating func readKafkaBytes() throws -> ByteBuffer? {
        try self.atomically { buffer in
            guard let bytes = try buffer.readKafkaNullableBytes() else { return nil }
            guard let bytes else {
                throw KafkaError(.protocolError, message: "BYTES is null, but is not nullable")
            }
            return bytes
        }
    }

    /// COMPACT_STRING: an UNSIGNED_VARINT of length + 1, then the UTF-8 bytes; null (0) is refused.
    mutating func readKafkaCompactString() throws -> String? {
        try self.atomically { buffer in
            guard let string = try buffer.readKafkaCompactNullableString() else { return nil }
            guard let string else {
                throw KafkaError(.protocolError, message: "COMPACT_STRING is null, but is not nullable")
            }
            return string
        }
    }

    /// COMPACT_NULLABLE_STRING: as COMPACT_STRING, with 0 for null.
    mutating func readKafkaCompactNullableString() throws -> String?? {
        try self.atomically { buffer -> String?? in
            guard let lengthPlusOne = try buffer.readKafkaUnsignedVarint() else { return .none }
            if lengthPlusOne == 0 { return .some(nil) }
            guard let string = try buffer.readKafkaUTF8(length: Int(lengthPlusOne - 1)) else { return .none }
            return .some(string)
        }
    }

    /// COMPACT_BYTES / COMPACT_NULLABLE_BYTES: an UNSIGNED_VARINT of length + 1 (0 for null), then the bytes.
    mutating func readKafkaCompactNullableBytes() throws -> ByteBuffer?? {
        try self.atomically { buffer -> ByteBuffer?? in
            guard let lengthPlusOne = try buffer.readKafkaUnsignedVarint() else { return .none }
            if lengthPlusOne == 0 { return .some(nil) }
            guard let bytes = buffer.readSlice(length: Int(lengthPlusOne - 1)) else { return .none }
            return .some(bytes)
        }
    }

    /// COMPACT_BYTES: null refused.
    mutating func readKafkaCompactBytes() throws -> ByteBuffer? {
        try self.atomically { buffer in
            guard let bytes = try buffer.readKafkaCompactNullableBytes() else { return nil }
            guard let bytes else {
                throw KafkaError(.protocolError, message: "COMPACT_BYTES is null, but is not nullable")
            }
            return bytes
        }
    }

    mutating func writeKafkaString(_ string: String) throws {
        let length = string.utf8.count
        guard length <= Int(Int16.max) else {
            throw KafkaError(.invalidArgument, message: "a STRING holds at most \(Int16.max) bytes, this one has \(length)")
        }
        self.writeKafkaInt16(Int16(length))
        self.writeString(string)
    }

    mutating func writeKafkaNullableString(_ string: String?) throws {
        guard let string else {
            self.writeKafkaInt16(-1)
            return
        }
        try self.writeKafkaString(string)
    }

    mutating func writeKafkaBytes(_ bytes: ByteBuffer?) throws {
        guard var bytes else {
            self.writeKafkaInt32(-1)
            return
        }
        guard bytes.readableBytes <= Int(Int32.max) else {
            throw KafkaError(.invalidArgument, message: "BYTES hold at most \(Int32.max) bytes, these have \(bytes.readableBytes)")
        }
        self.writeKafkaInt32(Int32(bytes.readableBytes))
        self.writeBuffer(&bytes)
    }

    mutating func writeKafkaCompactString(_ string: String) throws {
        try self.writeKafkaCompactLength(string.utf8.count, of: "COMPACT_STRING")
        self.writeString(string)
    }

    mutating func writeKafkaCompactNullableString(_ string: String?) throws {
        guard let string else {
            self.writeKafkaUnsignedVarint(0)
            return
        }
        try self.writeKafkaCompactString(string)
    }

    mutating func writeKafkaCompactBytes(_ bytes: ByteBuffer?) throws {
        guard var bytes else {
            self.writeKafkaUnsignedVarint(0)
            return
        }
        try self.writeKafkaCompactLength(bytes.readableBytes, of: "COMPACT_BYTES")
        self.writeBuffer(&bytes)
    }

    private mutating func writeKafkaCompactLength(_ length: Int, of type: String) throws {
        guard length < Int(UInt32.max) else {
            throw KafkaError(.invalidArgument, message: "\(type) holds fewer than \(UInt32.max) bytes, this one has \(length)")
        }
        self.writeKafkaUnsignedVarint(UInt32(length + 1))
    }

    private mutating func readKafkaUTF8(length: Int) throws -> String? {
        guard let bytes = self.readSlice(length: length) else { return nil }
        guard let string = String(validating: bytes.readableBytesView, as: UTF8.self) else {
            throw KafkaError(.protocolError, message: "string of \(length) bytes is not valid UTF-8")
        }
        return string
    }
}

// MARK: Arrays

extension ByteBuffer {
    /// ARRAY: an INT32 count (-1 for null), then the elements; null is refused.
    mutating func readKafkaArray<Element>(_ readElement: (inout ByteBuffer) throws -> Element?) throws -> [Element]? {
        try self.atomically { buffer in
            guard let count = buffer.readKafkaInt32() else { return nil }
            guard count >= 0 else {
                throw KafkaError(.protocolError, message: "ARRAY has \(count) elements, but is not nullable")
            }
            return try buffer.readKafkaElements(count: Int(count), readElement)
        }
    }

    /// COMPACT_ARRAY: an UNSIGNED_VARINT of count + 1 (0 for null), then the elements; null is refused.
    mutating func readKafkaCompactArray<Element>(_ readElement: (inout ByteBuffer) throws -> Element?) throws -> [Element]? {
        try self.atomically { buffer in
            guard let countPlusOne = try buffer.readKafkaUnsignedVarint() else { return nil }
            guard countPlusOne > 0 else {
                throw KafkaError(.protocolError, message: "COMPACT_ARRAY is null, but is not nullable")
            }
            return try buffer.readKafkaElements(count: Int(countPlusOne - 1), readElement)
        }
    }

    mutating func writeKafkaArray<Elements: Collection>(
        _ elements: Elements,
        _ writeElement: (inout ByteBuffer, Elements.Element) throws -> Void
    ) throws {
        guard elements.count <= Int(Int32.max) else {
            throw KafkaError(.invalidArgument, message: "an ARRAY holds at most \(Int32.max) elements")
        }
        self.writeKafkaInt32(Int32(elements.count))
        for element in elements {
            try writeElement(&self, element)
        }
    }

    /// A nullable ARRAY: nil is written as count -1 (e.g. Metadata's "all topics").
    mutating func writeKafkaNullableArray<Elements: Collection>(
        _ elements: Elements?,
        _ writeElement: (inout ByteBuffer, Elements.Element) throws -> Void
    ) throws {
        guard let elements else {
            self.writeKafkaInt32(-1)
            return
        }
        try self.writeKafkaArray(elements, writeElement)
    }

    mutating func writeKafkaCompactArray<Elements: Collection>(
        _ elements: Elements,
        _ writeElement: (inout ByteBuffer, Elements.Element) throws -> Void
    ) throws {
        guard elements.count < Int(UInt32.max) else {
            throw KafkaError(.invalidArgument, message: "a COMPACT_ARRAY holds fewer than \(UInt32.max) elements")
        }
        self.writeKafkaUnsignedVarint(UInt32(elements.count + 1))
        for element in elements {
            try writeElement(&self, element)
        }
    }

    /// A nullable COMPACT_ARRAY: nil is written as 0.
    mutating func writeKafkaCompactNullableArray<Elements: Collection>(
        _ elements: Elements?,
        _ writeElement: (inout ByteBuffer, Elements.Element) throws -> Void
    ) throws {
        guard let elements else {
            self.writeKafkaUnsignedVarint(0)
            return
        }
        try self.writeKafkaCompactArray(elements, writeElement)
    }

    private mutating func readKafkaElements<Element>(
        count: Int,
        _ readElement: (inout ByteBuffer) throws -> Element?
    ) throws -> [Element]? {
        // Every element takes at least one byte, so a count beyond the readable bytes cannot be complete yet;
        // this also keeps a hostile count from reserving memory.
        guard count <= self.readableBytes else { return nil }
        var elements: [Element] = []
        elements.reserveCapacity(count)
        for _ in 0..<count {
            guard let element = try readElement(&self) else { return nil }
            elements.append(element)
        }
        return elements
    }
}

// MARK: Tagged fields

extension ByteBuffer {
    /// A flexible version's TAGGED_FIELDS: an UNSIGNED_VARINT count, then (tag, size, bytes) for each.
    ///
    /// Returns every field by tag, so a decoder picks the tags it knows and the rest are skipped.
    mutating func readKafkaTaggedFields() throws -> [UInt32: ByteBuffer]? {
        try self.atomically { buffer in
            guard let count = try buffer.readKafkaUnsignedVarint() else { return nil }
            guard Int(count) <= buffer.readableBytes else { return nil }
            var fields: [UInt32: ByteBuffer] = [:]
            for _ in 0..<count {
                guard let tag = try buffer.readKafkaUnsignedVarint(), let size = try buffer.readKafkaUnsignedVarint() else {
                    return nil
                }
                guard let value = buffer.readSlice(length: Int(size)) else { return nil }
                guard fields.updateValue(value, forKey: tag) == nil else {
                    throw KafkaError(.protocolError, message: "tagged field \(tag) appears twice")
                }
            }
            return fields
        }
    }

    /// Writes an empty TAGGED_FIELDS section: this client sets no tagged fields.
    mutating func writeKafkaEmptyTaggedFields() {
        self.writeKafkaUnsignedVarint(0)
    }
}

// MARK: Helpers

extension ByteBuffer {
    /// Runs `read` on a copy and keeps its progress only when it returned a value,
    /// so an incomplete value leaves the reader index untouched.
    mutating func atomically<Value>(_ read: (inout ByteBuffer) throws -> Value?) rethrows -> Value? {
        var copy = self
        guard let value = try read(&copy) else { return nil }
        self = copy
        return value
    }
}
