/// An error from the domain: bad input, an unknown campaign, or a store that cannot be reached.
///
/// A struct with static codes rather than an enum, so adding a code does not
/// break callers' `switch`es (the pattern of hummingbird's `PersistError`).
public struct CouponError: Error, Hashable, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Hashable, Sendable {
            case invalidUserID
            case invalidCampaignID
            case invalidCampaign
            case unknownCampaign
            case campaignExists
            case storeUnavailable
        }

        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// A `userId` that is not a decimal integer from 1 to 2^63−1.
        public static let invalidUserID = Code(.invalidUserID)
        /// A campaign id outside the allowed alphabet or length.
        public static let invalidCampaignID = Code(.invalidCampaignID)
        /// Campaign fields out of range (limit, name, window).
        public static let invalidCampaign = Code(.invalidCampaign)
        /// No campaign has this id.
        public static let unknownCampaign = Code(.unknownCampaign)
        /// A campaign with this id exists already.
        public static let campaignExists = Code(.campaignExists)
        /// The store could not record or read the data; retrying later may work.
        public static let storeUnavailable = Code(.storeUnavailable)

        public var description: String { self.base.rawValue }
    }

    public let code: Code
    /// A sentence for the client, naming what was wrong.
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(self.code): \(self.message)" }

    public static func unknownCampaign(_ id: CampaignID) -> CouponError {
        CouponError(.unknownCampaign, "No campaign has the id '\(id)'.")
    }
}
