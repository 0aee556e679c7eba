import CouponCore
import Foundation
import NIOCore

/// One issued coupon as a record of the `coupon_create` topic: key the campaign id (so a campaign's
/// events stay in order on one partition), value the JSON object
/// `{"campaignId":"spring","userId":42,"sequence":7,"issuedAt":"2026-12-02T19:30:00.123Z","epoch":0}`.
///
/// The format is stable: fields may be added, none is renamed or removed (docs/KAFKA.md).
public struct CouponEvent: Sendable, Hashable {
    public var coupon: Coupon
    /// The campaign's reset count when the coupon was issued; a consumer drops events of an older epoch.
    public var epoch: Int64

    public init(coupon: Coupon, epoch: Int64) {
        self.coupon = coupon
        self.epoch = epoch
    }

    /// The record key: the campaign id's bytes.
    public var key: ByteBuffer {
        ByteBuffer(string: self.coupon.campaignID.rawValue)
    }

    /// The record value. Campaign ids are letters, digits, `-` and `_`, so nothing needs escaping.
    public var value: ByteBuffer {
        ByteBuffer(
            string: #"{"campaignId":"\#(self.coupon.campaignID.rawValue)","userId":\#(self.coupon.userID.rawValue),"#
                + #""sequence":\#(self.coupon.sequence),"issuedAt":"\#(self.coupon.issuedAt.rfc3339)","epoch":\#(self.epoch)}"#
        )
    }

    private struct Fields: Decodable {
        var campaignId: String
        var userId: Int64
        var sequence: Int64
        var issuedAt: String
        var epoch: Int64?
    }

    /// Reads a record's value.
    /// - Throws: a reason, for the dead-letter topic, naming what is wrong.
    public init(value: ByteBuffer?) throws(CouponEventError) {
        try self.init(bytes: value.map { Array($0.readableBytesView) })
    }

    /// Reads a record's value.
    /// - Throws: a reason, for the dead-letter topic, naming what is wrong.
    public init(bytes value: [UInt8]?) throws(CouponEventError) {
        guard let value, !value.isEmpty else { throw CouponEventError("the record has no value") }
        let fields: Fields
        do {
            fields = try JSONDecoder().decode(Fields.self, from: Data(value))
        } catch {
            throw CouponEventError("the value is not a coupon event: \(Self.describe(error))")
        }
        let campaign: CampaignID
        let user: UserID
        do {
            campaign = try CampaignID(validating: fields.campaignId)
            user = try UserID(fields.userId)
        } catch {
            throw CouponEventError("the value is not a coupon event: \(error.message)")
        }
        guard fields.sequence > 0 else { throw CouponEventError("sequence \(fields.sequence) is not positive") }
        guard let issuedAt = Timestamp(rfc3339: fields.issuedAt) else {
            throw CouponEventError("issuedAt '\(fields.issuedAt.prefix(40))' is not an RFC 3339 time")
        }
        self.init(
            coupon: Coupon(campaignID: campaign, userID: user, sequence: fields.sequence, issuedAt: issuedAt),
            epoch: fields.epoch ?? 0
        )
    }

    private static func describe(_ error: any Error) -> String {
        switch error {
        case DecodingError.keyNotFound(let key, _): "field '\(key.stringValue)' is missing"
        case DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context):
            "field '\(context.codingPath.map(\.stringValue).joined(separator: "."))' has the wrong type"
        default: "it is not JSON"
        }
    }
}

/// Why a record is not a coupon event.
public struct CouponEventError: Error, Sendable, CustomStringConvertible {
    public let description: String

    init(_ description: String) {
        self.description = description
    }
}
