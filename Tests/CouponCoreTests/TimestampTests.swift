import CouponCore
import Testing

@Suite struct TimestampTests {
    @Test(arguments: [
        (Int64(0), "1970-01-01T00:00:00.000Z"),
        (1_795_000_000_123, "2026-11-18T11:06:40.123Z"),
        (951_782_400_000, "2000-02-29T00:00:00.000Z"),
        (-1, "1969-12-31T23:59:59.999Z"),
        (253_402_300_799_999, "9999-12-31T23:59:59.999Z"),
    ])
    func formatsRFC3339(milliseconds: Int64, text: String) {
        #expect(Timestamp(millisecondsSince1970: milliseconds).rfc3339 == text)
    }

    @Test func parsesWhatItFormats() throws {
        let stamp = Timestamp(millisecondsSince1970: 1_795_000_000_123)
        #expect(Timestamp(rfc3339: stamp.rfc3339) == stamp)
    }

    @Test func parsesOffsetsAndWholeSeconds() {
        #expect(Timestamp(rfc3339: "2026-12-01T09:00:00Z")?.millisecondsSince1970 == 1_796_115_600_000)
        #expect(Timestamp(rfc3339: "2026-12-01T18:00:00+09:00")?.millisecondsSince1970 == 1_796_115_600_000)
        // RFC 3339 §5.6: "T" and "Z" may be lower case.
        #expect(Timestamp(rfc3339: "2026-12-01t09:00:00z")?.millisecondsSince1970 == 1_796_115_600_000)
    }

    @Test(arguments: ["", "tomorrow", "2026-12-01", "2026-13-01T00:00:00Z", "1700000000"])
    func rejectsOtherText(text: String) {
        #expect(Timestamp(rfc3339: text) == nil)
    }
}
