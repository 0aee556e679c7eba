import NIOCore

@testable import Kafka

/// Bytes written as hex pairs, whitespace ignored: `hex("00 12  ff")` is `[0x00, 0x12, 0xff]`.
/// Lets tests spell out wire formats field by field.
func hex(_ text: String) -> [UInt8] {
    let digits = text.filter { !$0.isWhitespace }
    var bytes: [UInt8] = []
    var index = digits.startIndex
    while index < digits.endIndex {
        let next = digits.index(index, offsetBy: 2, limitedBy: digits.endIndex) ?? digits.endIndex
        bytes.append(UInt8(digits[index..<next], radix: 16) ?? 0xEE)
        index = next
    }
    return bytes
}

/// The hex of `text`'s UTF-8 bytes, to spell strings inside `hex(_:)` input.
func ascii(_ text: String) -> String {
    text.utf8.map { String($0, radix: 16) }.map { $0.count == 1 ? "0" + $0 : $0 }.joined(separator: " ")
}

/// The request body `request` encodes to at `version`.
func body<Request: KafkaRequest>(_ request: Request, version: Int16) throws -> [UInt8] {
    var buffer = ByteBuffer()
    try request.encode(into: &buffer, version: version)
    return Array(buffer.readableBytesView)
}

/// The response of `Request` at `version` decoded from the body `bytes` (hex, as `hex(_:)` reads it).
func decode<Request: KafkaRequest>(_ type: Request.Type, version: Int16, _ bytes: String) throws -> Request.Response {
    var buffer = ByteBuffer(bytes: hex(bytes))
    return try Request.decodeResponse(&buffer, version: version)
}
