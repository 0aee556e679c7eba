/// A wall-clock instant in whole milliseconds since 1970-01-01T00:00:00Z.
///
/// Milliseconds are what every store we target keeps exactly (SQLite and
/// PostgreSQL integers, Redis stream fields), so no rounding happens between
/// the gate, the database and the answer a client saw.
public struct Timestamp: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var millisecondsSince1970: Int64

    public init(millisecondsSince1970: Int64) {
        self.millisecondsSince1970 = millisecondsSince1970
    }

    public static func < (lhs: Timestamp, rhs: Timestamp) -> Bool {
        lhs.millisecondsSince1970 < rhs.millisecondsSince1970
    }

    public var description: String { self.rfc3339 }

    /// RFC 3339 in UTC with milliseconds, e.g. `2026-11-24T17:20:00.123Z`.
    ///
    /// Formatted by hand: this runs for every issued coupon, and Foundation's
    /// formatters allocate far more than the answer itself.
    public var rfc3339: String {
        var ms = self.millisecondsSince1970
        var days = ms / 86_400_000
        ms %= 86_400_000
        if ms < 0 {
            ms += 86_400_000
            days -= 1
        }
        let (year, month, day) = Self.civil(fromDays: days)
        var out = [UInt8]()
        out.reserveCapacity(24)
        func put(_ value: Int64, width: Int) {
            var divisor: Int64 = 1
            for _ in 1..<width { divisor *= 10 }
            while divisor > 0 {
                out.append(UInt8(ascii: "0") + UInt8(value / divisor % 10))
                divisor /= 10
            }
        }
        put(year, width: 4)
        out.append(UInt8(ascii: "-"))
        put(month, width: 2)
        out.append(UInt8(ascii: "-"))
        put(day, width: 2)
        out.append(UInt8(ascii: "T"))
        put(ms / 3_600_000, width: 2)
        out.append(UInt8(ascii: ":"))
        put(ms / 60_000 % 60, width: 2)
        out.append(UInt8(ascii: ":"))
        put(ms / 1000 % 60, width: 2)
        out.append(UInt8(ascii: "."))
        put(ms % 1000, width: 3)
        out.append(UInt8(ascii: "Z"))
        return String(decoding: out, as: UTF8.self)
    }

    /// Howard Hinnant's days-to-civil algorithm (proleptic Gregorian calendar).
    static func civil(fromDays z0: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let z = z0 + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yoe + era * 400 + (month <= 2 ? 1 : 0)
        return (year, month, day)
    }
}
