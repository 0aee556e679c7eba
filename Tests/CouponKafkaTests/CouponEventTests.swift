import CouponCore
import CouponKafka
import NIOCore
import Testing

@Suite struct CouponEventTests {
    let event: CouponEvent

    init() throws {
        let coupon = Coupon(campaignID: .default, userID: try UserID(42), sequence: 7, issuedAt: Timestamp(millisecondsSince1970: 1_764_703_800_123))
        self.event = CouponEvent(coupon: coupon, epoch: 2)
    }

    @Test func encodesTheDocumentedFormat() {
        #expect(String(buffer: self.event.key) == "default")
        #expect(
            String(buffer: self.event.value)
                == #"{"campaignId":"default","userId":42,"sequence":7,"issuedAt":"2025-12-02T19:30:00.123Z","epoch":2}"#
        )
    }

    @Test func decodesWhatItEncodesAndToleratesNewFields() throws {
        #expect(try CouponEvent(value: self.event.value) == self.event)
        let extended = ByteBuffer(
            string: #"{"source":"x","campaignId":"default","userId":42,"sequence":7,"issuedAt":"2025-12-02T19:30:00.123Z","epoch":2}"#
        )
        #expect(try CouponEvent(value: extended) == self.event)
        let withoutEpoch = ByteBuffer(string: #"{"campaignId":"default","userId":42,"sequence":7,"issuedAt":"2025-12-02T19:30:00.123Z"}"#)
        #expect(try CouponEvent(value: withoutEpoch).epoch == 0)
    }

    @Test(
        arguments: [
            (nil, "no value"),
            ("not json", "not JSON"),
            (#"{"userId":1,"sequence":1,"issuedAt":"2025-12-02T19:30:00Z"}"#, "'campaignId' is missing"),
            (#"{"campaignId":"a b","userId":1,"sequence":1,"issuedAt":"2025-12-02T19:30:00Z"}"#, "Campaign id 'a b'"),
            (#"{"campaignId":"a","userId":"x","sequence":1,"issuedAt":"2025-12-02T19:30:00Z"}"#, "'userId' has the wrong type"),
            (#"{"campaignId":"a","userId":1,"sequence":0,"issuedAt":"2025-12-02T19:30:00Z"}"#, "sequence 0"),
            (#"{"campaignId":"a","userId":1,"sequence":1,"issuedAt":"yesterday"}"#, "issuedAt 'yesterday'"),
        ] as [(String?, String)]
    )
    func refusesWhatIsNotAnEventSayingWhy(_ value: String?, _ reason: String) {
        let error = #expect(throws: CouponEventError.self) { try CouponEvent(value: value.map { ByteBuffer(string: $0) }) }
        #expect(error?.description.contains(reason) == true, "\(error?.description ?? "no error") names \(reason)")
    }
}
