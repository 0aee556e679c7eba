import CouponCore
import CouponStore
import Testing

/// The database of record a distributed test writes to, on the servers scripts/test.sh starts.
public enum RecordDatabase: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case postgres
    case mysql

    public var testDescription: String { self.rawValue }

    /// A fresh database with a running, migrated store on it for the duration of `body`.
    public func withStore<T>(_ body: (any CouponStore) async throws -> T) async throws -> T {
        switch self {
        case .postgres:
            try await TestPostgres.withDatabase { url in try await TestPostgres.withStore(url) { try await body($0) } }
        case .mysql:
            try await TestMySQL.withDatabase { url in try await TestMySQL.withStore(url) { try await body($0) } }
        }
    }
}
