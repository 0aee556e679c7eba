import CouponCore
import HTTPTypes
import Hummingbird
import NIOCore

extension Problem {
    /// The 422 answered to nearly every request of a drop.
    ///
    /// Built from constant pieces around the campaign id (whose alphabet needs
    /// no JSON escaping): one buffer allocation, no encoder, no formatting.
    static func soldOutResponse(_ campaign: CampaignID) -> Response {
        let id = campaign.rawValue
        var buffer = ByteBufferAllocator().buffer(capacity: 192 + 2 * id.utf8.count)
        buffer.writeStaticString(#"{"type":"urn:coupongate:problem:sold-out","title":"Sold out","status":422,"detail":"All coupons of campaign '"#)
        buffer.writeString(id)
        buffer.writeStaticString(#"' have been issued.","campaign":""#)
        buffer.writeString(id)
        buffer.writeStaticString(#""}"#)
        return Response(status: .unprocessableContent, headers: ContentHeaders.problem, body: .init(byteBuffer: buffer))
    }
}
