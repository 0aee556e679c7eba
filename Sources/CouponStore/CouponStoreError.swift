/// A store could not be opened, migrated, read or written. The message names the database and the cause.
public struct CouponStoreError: Error, CustomStringConvertible, Sendable {
    public let message: String

    public init(_ message: String) {
        self.message = message
    }

    public var description: String { self.message }
}
