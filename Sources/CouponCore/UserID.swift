/// A user, as the seed's clients name one: a decimal integer from 1 to 2^63−1.
public struct UserID: Hashable, Sendable, CustomStringConvertible {
    public let rawValue: Int64

    /// - Throws: ``CouponError/invalidUserID`` unless `rawValue` is at least 1.
    public init(_ rawValue: Int64) throws(CouponError) {
        guard rawValue >= 1 else {
            throw CouponError(.invalidUserID, "userId must be between 1 and \(Int64.max); got \(rawValue).")
        }
        self.rawValue = rawValue
    }

    /// Parses the text of a `userId` parameter: ASCII digits only (no sign,
    /// exponent, space or fraction), with a value from 1 to 2^63−1.
    public init(parsing text: String) throws(CouponError) {
        try self.init(parsing: text[...])
    }

    /// Not generic on purpose: this runs for every apply, and a generic would
    /// not be specialized across the module boundary.
    public init(parsing text: Substring) throws(CouponError) {
        let utf8 = text.utf8
        guard !utf8.isEmpty else {
            throw CouponError(.invalidUserID, "userId is empty; it must be a decimal integer between 1 and \(Int64.max).")
        }
        // More than 19 digits cannot fit; checking first keeps a 10 KB value cheap to reject.
        guard utf8.count <= 19 else {
            throw CouponError(.invalidUserID, "userId has \(utf8.count) characters; it must be a decimal integer between 1 and \(Int64.max).")
        }
        // One spelling per user: "007" would be user 7 under another name.
        guard utf8.first != UInt8(ascii: "0") || utf8.count == 1 else {
            throw CouponError(.invalidUserID, "userId '\(text)' has a leading zero; write it as a plain decimal integer.")
        }
        var value: Int64 = 0
        for byte in utf8 {
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else {
                throw CouponError(.invalidUserID, "userId '\(text)' is not a decimal integer between 1 and \(Int64.max).")
            }
            let (times10, o1) = value.multipliedReportingOverflow(by: 10)
            let (sum, o2) = times10.addingReportingOverflow(Int64(byte &- UInt8(ascii: "0")))
            guard !o1, !o2 else {
                throw CouponError(.invalidUserID, "userId '\(text)' is larger than \(Int64.max).")
            }
            value = sum
        }
        try self.init(value)
    }

    public var description: String { String(self.rawValue) }
}
