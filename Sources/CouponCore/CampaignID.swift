/// The identifier of a campaign: 1 to 64 ASCII letters, digits, `-` or `_`.
///
/// The alphabet is closed so an identifier can be embedded in JSON, URLs and
/// (later) Redis key names without escaping.
public struct CampaignID: Hashable, Sendable, CustomStringConvertible {
    public static let maximumLength = 64

    /// The campaign the seed-compatible `POST /coupon/apply` acts on.
    public static let `default` = CampaignID(unchecked: "default")

    public let rawValue: String

    /// Validates `text` as a campaign identifier.
    /// - Throws: ``CouponError/invalidCampaignID`` naming what is wrong.
    public init(validating text: some StringProtocol) throws(CouponError) {
        let utf8 = text.utf8
        guard !utf8.isEmpty else {
            throw CouponError(.invalidCampaignID, "Campaign id is empty; use 1 to \(Self.maximumLength) letters, digits, '-' or '_'.")
        }
        guard utf8.count <= Self.maximumLength else {
            throw CouponError(.invalidCampaignID, "Campaign id is \(utf8.count) bytes long; the maximum is \(Self.maximumLength).")
        }
        guard utf8.allSatisfy(Self.isAllowed) else {
            throw CouponError(
                .invalidCampaignID,
                "Campaign id '\(text.prefix(Self.maximumLength))' has a character other than letters, digits, '-' or '_'."
            )
        }
        self.rawValue = String(text)
    }

    private init(unchecked: String) {
        self.rawValue = unchecked
    }

    public var description: String { self.rawValue }

    private static func isAllowed(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
            UInt8(ascii: "-"), UInt8(ascii: "_"):
            true
        default:
            false
        }
    }
}
