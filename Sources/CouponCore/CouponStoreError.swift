/// A store could not be opened, migrated, read or written. The message names the database and the cause;
/// the code says what kind of failure it is, so a caller can tell a duplicate from an outage without
/// asking the database again.
public struct CouponStoreError: Error, CustomStringConvertible, Sendable {
    /// A struct with static codes rather than an enum, as ``CouponError``'s: adding one breaks no `switch`.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Hashable, Sendable {
            case failed
            case campaignExists
            case invalidURL
        }

        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// The database could not be reached or did not do what was asked (down, timed out, refused,
        /// a failed statement or migration); retrying later may work.
        public static let failed = Code(.failed)
        /// A campaign with this id is in the database already; nothing of the write was kept.
        public static let campaignExists = Code(.campaignExists)
        /// A database URL that cannot be used (caught at start, before any connection).
        public static let invalidURL = Code(.invalidURL)

        public var description: String { self.base.rawValue }
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    /// A ``Code/failed`` error.
    public init(_ message: String) {
        self.init(.failed, message)
    }

    public var description: String { self.message }

    /// What every store throws when a write creates a campaign whose id is taken (the batch is rolled back).
    package static func campaignExists(_ id: CampaignID) -> CouponStoreError {
        CouponStoreError(.campaignExists, "a campaign with the id '\(id)' exists already")
    }
}
