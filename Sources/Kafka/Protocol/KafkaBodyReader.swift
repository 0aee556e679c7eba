import NIOCore

/// Reads the fields of one whole response body, in the classic or the flexible encoding.
///
/// Unlike the streaming primitives, missing bytes here mean a truncated message: every read throws
/// `.protocolError` naming the message and field, and malformed values are reported the same way.
struct KafkaBodyReader {
    private(set) var buffer: ByteBuffer
    /// Compact strings and arrays, and tagged fields after each structure.
    let flexible: Bool
    /// E.g. "Metadata v9 response".
    let message: String

    init(_ buffer: ByteBuffer, flexible: Bool, message: String) {
        self.buffer = buffer
        self.flexible = flexible
        self.message = message
    }

    var readableBytes: Int { self.buffer.readableBytes }

    mutating func int8(_ field: String) throws -> Int8 { try self.read(field) { $0.readKafkaInt8() } }
    mutating func int16(_ field: String) throws -> Int16 { try self.read(field) { $0.readKafkaInt16() } }
    mutating func int32(_ field: String) throws -> Int32 { try self.read(field) { $0.readKafkaInt32() } }
    mutating func int64(_ field: String) throws -> Int64 { try self.read(field) { $0.readKafkaInt64() } }
    mutating func boolean(_ field: String) throws -> Bool { try self.read(field) { $0.readKafkaBoolean() } }
    mutating func errorCode(_ field: String = "error_code") throws -> KafkaErrorCode {
        KafkaErrorCode(rawValue: try self.int16(field))
    }

    mutating func string(_ field: String) throws -> String {
        let flexible = self.flexible
        return try self.read(field) { flexible ? try $0.readKafkaCompactString() : try $0.readKafkaString() }
    }

    mutating func nullableString(_ field: String) throws -> String? {
        let flexible = self.flexible
        return try self.read(field) { flexible ? try $0.readKafkaCompactNullableString() : try $0.readKafkaNullableString() }
    }

    /// BYTES, or COMPACT_BYTES when flexible.
    mutating func bytes(_ field: String) throws -> ByteBuffer {
        let flexible = self.flexible
        return try self.read(field) { flexible ? try $0.readKafkaCompactBytes() : try $0.readKafkaBytes() }
    }

    /// NULLABLE_BYTES, or COMPACT_NULLABLE_BYTES when flexible.
    mutating func nullableBytes(_ field: String) throws -> ByteBuffer? {
        let flexible = self.flexible
        return try self.read(field) { flexible ? try $0.readKafkaCompactNullableBytes() : try $0.readKafkaNullableBytes() }
    }

    /// An ARRAY, or a COMPACT_ARRAY when flexible; null is refused.
    mutating func array<Element>(_ field: String, _ readElement: (inout KafkaBodyReader) throws -> Element) throws -> [Element] {
        guard let elements = try self.nullableArray(field, readElement) else {
            throw self.error(field, "is null, but is not nullable")
        }
        return elements
    }

    /// A nullable ARRAY or COMPACT_ARRAY.
    mutating func nullableArray<Element>(
        _ field: String,
        _ readElement: (inout KafkaBodyReader) throws -> Element
    ) throws -> [Element]? {
        let count: Int
        if self.flexible {
            let countPlusOne = try self.read(field) { try $0.readKafkaUnsignedVarint() }
            if countPlusOne == 0 { return nil }
            count = Int(countPlusOne - 1)
        } else {
            let raw = try self.int32(field)
            if raw == -1 { return nil }
            guard raw >= 0 else { throw self.error(field, "has \(raw) elements") }
            count = Int(raw)
        }
        // Each element takes at least one byte: a larger count is a lie, and must not reserve memory.
        guard count <= self.buffer.readableBytes else {
            throw self.error(field, "declares \(count) elements in \(self.buffer.readableBytes) bytes")
        }
        var elements: [Element] = []
        elements.reserveCapacity(count)
        for _ in 0..<count {
            elements.append(try readElement(&self))
        }
        return elements
    }

    /// The tagged fields that end a structure in flexible versions (none in classic ones), by tag.
    @discardableResult
    mutating func taggedFields(_ field: String = "tagged fields") throws -> [UInt32: ByteBuffer] {
        guard self.flexible else { return [:] }
        return try self.read(field) { try $0.readKafkaTaggedFields() }
    }

    /// Reads nothing more: a body with bytes left over was not what this version describes.
    func finish() throws {
        guard self.buffer.readableBytes == 0 else {
            throw KafkaError(.protocolError, message: "\(self.message) has \(self.buffer.readableBytes) unexpected bytes at its end")
        }
    }

    private mutating func read<Value>(_ field: String, _ read: (inout ByteBuffer) throws -> Value?) throws -> Value {
        do {
            guard let value = try read(&self.buffer) else {
                throw self.error(field, "is truncated")
            }
            return value
        } catch let error as KafkaError where error.code == .protocolError && !error.message.hasPrefix(self.message) {
            throw self.error(field, error.message)
        }
    }

    private func error(_ field: String, _ problem: String) -> KafkaError {
        KafkaError(.protocolError, message: "\(self.message), field \(field): \(problem)")
    }
}

extension ByteBuffer {
    /// STRING, or COMPACT_STRING when `flexible`.
    mutating func writeKafkaString(_ string: String, flexible: Bool) throws {
        if flexible { try self.writeKafkaCompactString(string) } else { try self.writeKafkaString(string) }
    }

    /// NULLABLE_STRING, or COMPACT_NULLABLE_STRING when `flexible`.
    mutating func writeKafkaNullableString(_ string: String?, flexible: Bool) throws {
        if flexible { try self.writeKafkaCompactNullableString(string) } else { try self.writeKafkaNullableString(string) }
    }

    /// BYTES (or NULLABLE_BYTES), or their compact forms when `flexible`.
    mutating func writeKafkaBytes(_ bytes: ByteBuffer?, flexible: Bool) throws {
        if flexible { try self.writeKafkaCompactBytes(bytes) } else { try self.writeKafkaBytes(bytes) }
    }

    /// ARRAY, or COMPACT_ARRAY when `flexible`.
    mutating func writeKafkaArray<Elements: Collection>(
        _ elements: Elements,
        flexible: Bool,
        _ writeElement: (inout ByteBuffer, Elements.Element) throws -> Void
    ) throws {
        if flexible {
            try self.writeKafkaCompactArray(elements, writeElement)
        } else {
            try self.writeKafkaArray(elements, writeElement)
        }
    }

    /// Empty tagged fields when `flexible`, nothing otherwise.
    mutating func writeKafkaTaggedFields(flexible: Bool) {
        if flexible { self.writeKafkaEmptyTaggedFields() }
    }
}
