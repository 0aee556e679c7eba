import Foundation

extension Timestamp {
    /// The current wall-clock time.
    public static var now: Timestamp {
        Timestamp(date: Date())
    }

    public init(date: Date) {
        self.init(millisecondsSince1970: Int64((date.timeIntervalSince1970 * 1000).rounded(.down)))
    }

    public var date: Date {
        Date(timeIntervalSince1970: Double(self.millisecondsSince1970) / 1000)
    }

    /// Parses an RFC 3339 date-time such as `2026-12-01T09:00:00Z` or
    /// `2026-12-01T18:00:00.250+09:00`; `nil` when `text` is not one.
    public init?(rfc3339 text: String) {
        // RFC 3339 allows a lower-case "t" and "z"; Foundation's parser wants upper case.
        let text = text.uppercased()
        // Admin input only (campaign windows), so Foundation's parser is fine here.
        let withFraction = Date.ISO8601FormatStyle(includingFractionalSeconds: true)
        let plain = Date.ISO8601FormatStyle()
        if let date = try? withFraction.parse(text) {
            self.init(date: date)
        } else if let date = try? plain.parse(text) {
            self.init(date: date)
        } else {
            return nil
        }
    }
}
