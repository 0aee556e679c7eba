import NIOCore

/// One record inside a v2 record batch; offsets and timestamps are deltas from the batch's base.
struct KafkaRecord: Sendable, Hashable {
    /// Unused by Kafka so far; kept so a decoded record re-encodes to the same bytes.
    var attributes: Int8 = 0
    var timestampDelta: Int64
    var offsetDelta: Int32
    var key: ByteBuffer?
    var value: ByteBuffer?
    var headers: [KafkaRecordHeader] = []

    init(
        offsetDelta: Int32,
        timestampDelta: Int64 = 0,
        key: ByteBuffer?,
        value: ByteBuffer?,
        headers: [KafkaRecordHeader] = [],
        attributes: Int8 = 0
    ) {
        self.attributes = attributes
        self.timestampDelta = timestampDelta
        self.offsetDelta = offsetDelta
        self.key = key
        self.value = value
        self.headers = headers
    }
}

// MARK: Wire format

extension ByteBuffer {
    /// Writes `record` with its VARINT length prefix.
    mutating func writeKafkaRecord(_ record: KafkaRecord) throws {
        // The length comes first, so the body is written to scratch space to learn its size.
        var body = ByteBuffer()
        body.writeKafkaInt8(record.attributes)
        body.writeKafkaVarlong(record.timestampDelta)
        body.writeKafkaVarint(record.offsetDelta)
        try body.writeKafkaRecordBytes(record.key, field: "key")
        try body.writeKafkaRecordBytes(record.value, field: "value")
        try body.writeKafkaRecordCount(record.headers.count, of: "headers")
        for header in record.headers {
            try body.writeKafkaRecordBytes(ByteBuffer(string: header.key), field: "header key")
            try body.writeKafkaRecordBytes(header.value, field: "header value")
        }
        try self.writeKafkaRecordCount(body.readableBytes, of: "record")
        self.writeBuffer(&body)
    }

    /// Reads one record from inside a batch whose bytes have all arrived: anything missing or inconsistent
    /// throws `.corruptRecord`, naming the field.
    mutating func readKafkaRecord() throws -> KafkaRecord {
        let length = try self.readRecordVarint("record length")
        guard length >= 0, var body = self.readSlice(length: Int(length)) else {
            throw Self.corrupt("record length \(length) does not fit the \(self.readableBytes) bytes left in the batch")
        }
        let attributes = try body.readKafkaInt8().unwrap(or: Self.corrupt("record truncated in attributes"))
        let timestampDelta: Int64
        do {
            timestampDelta = try body.readKafkaVarlong().unwrap(or: Self.corrupt("record truncated in timestampDelta"))
        } catch let error as KafkaError where error.code == .protocolError {
            throw Self.corrupt("record timestampDelta: \(error.message)")
        }
        let offsetDelta = try body.readRecordVarint("offsetDelta")
        let key = try body.readKafkaRecordBytes(field: "key")
        let value = try body.readKafkaRecordBytes(field: "value")
        let headerCount = try body.readRecordVarint("header count")
        guard headerCount >= 0, Int(headerCount) <= body.readableBytes else {
            throw Self.corrupt("record declares \(headerCount) headers in \(body.readableBytes) bytes")
        }
        var headers: [KafkaRecordHeader] = []
        headers.reserveCapacity(Int(headerCount))
        for _ in 0..<headerCount {
            guard let keyBytes = try body.readKafkaRecordBytes(field: "header key") else {
                throw Self.corrupt("record header key is null")
            }
            guard let headerKey = String(validating: keyBytes.readableBytesView, as: UTF8.self) else {
                throw Self.corrupt("record header key is not valid UTF-8")
            }
            headers.append(KafkaRecordHeader(key: headerKey, value: try body.readKafkaRecordBytes(field: "header value")))
        }
        guard body.readableBytes == 0 else {
            throw Self.corrupt("record has \(body.readableBytes) bytes after its last header")
        }
        return KafkaRecord(
            offsetDelta: offsetDelta,
            timestampDelta: timestampDelta,
            key: key,
            value: value,
            headers: headers,
            attributes: attributes
        )
    }

    /// Record keys, values and header values: a VARINT length (-1 for null), then the bytes.
    private mutating func writeKafkaRecordBytes(_ bytes: ByteBuffer?, field: String) throws {
        guard var bytes else {
            self.writeKafkaVarint(-1)
            return
        }
        try self.writeKafkaRecordCount(bytes.readableBytes, of: field)
        self.writeBuffer(&bytes)
    }

    private mutating func writeKafkaRecordCount(_ count: Int, of field: String) throws {
        guard count <= Int(Int32.max) else {
            throw KafkaError(.invalidArgument, message: "record \(field) of \(count) is longer than a VARINT length allows")
        }
        self.writeKafkaVarint(Int32(count))
    }

    private mutating func readKafkaRecordBytes(field: String) throws -> ByteBuffer? {
        let length = try self.readRecordVarint("\(field) length")
        if length == -1 { return nil }
        guard length >= 0, let bytes = self.readSlice(length: Int(length)) else {
            throw Self.corrupt("record \(field) length \(length) does not fit the \(self.readableBytes) bytes left")
        }
        return bytes
    }

    private mutating func readRecordVarint(_ field: String) throws -> Int32 {
        do {
            return try self.readKafkaVarint().unwrap(or: Self.corrupt("record truncated in \(field)"))
        } catch let error as KafkaError where error.code == .protocolError {
            throw Self.corrupt("record \(field): \(error.message)")
        }
    }

    private static func corrupt(_ message: String) -> KafkaError {
        KafkaError(.corruptRecord, message: message)
    }
}
