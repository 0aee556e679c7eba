import NIOCore

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
