import CouponCore
import HTTPTypes
import Hummingbird
import NIOCore
import Synchronization

/// The 422 answered to nearly every request of a drop, built once per campaign.
///
/// The body is constant per campaign, so it is encoded on first use and then
/// shared (a `ByteBuffer` copy is a reference): the sold-out path allocates
/// no body and runs no encoder. Only existing campaigns reach it, so the
/// cache is bounded by the number of campaigns.
final class SoldOutResponses: Sendable {
    private let bodies = Mutex<[CampaignID: ByteBuffer]>([:])

    init() {}

    func response(for campaign: CampaignID) -> Response {
        Response(status: .unprocessableContent, headers: ContentHeaders.problem, body: .init(byteBuffer: self.body(for: campaign)))
    }

    /// The campaign's body, built on first use (the sold-out fast path writes it as it is).
    func body(for campaign: CampaignID) -> ByteBuffer {
        self.bodies.withLock { $0[campaign] }
            ?? {
                let body = Self.makeBody(for: campaign)
                self.bodies.withLock { $0[campaign] = body }
                return body
            }()
    }

    /// Built from constant pieces around the id, whose alphabet needs no JSON escaping.
    static func makeBody(for campaign: CampaignID) -> ByteBuffer {
        let id = campaign.rawValue
        var buffer = ByteBufferAllocator().buffer(capacity: 192 + 2 * id.utf8.count)
        buffer.writeStaticString(#"{"type":"urn:coupongate:problem:sold-out","title":"Sold out","status":422,"detail":"All coupons of campaign '"#)
        buffer.writeString(id)
        buffer.writeStaticString(#"' have been issued.","campaign":""#)
        buffer.writeString(id)
        buffer.writeStaticString(#""}"#)
        return buffer
    }
}
