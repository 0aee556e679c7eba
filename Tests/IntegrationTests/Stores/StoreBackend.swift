import CouponCore
import CouponStore
import CouponTestSupport
import Foundation
import Logging
import Testing

/// A store implementation the contract tests run against; every contract test runs on each.
enum StoreBackend: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case sqlite
    case postgres
    case mysql

    var testDescription: String { self.rawValue }

    /// The backends the contract runs on: SQLite (in process) always, the servers only with
    /// the integration switch on, where a missing server fails the test.
    static var contract: [StoreBackend] { IntegrationSuite.isEnabled ? Self.allCases : [.sqlite] }

    /// A new, empty, migrated store, open for the duration of `body`.
    @discardableResult
    func withStore<T>(_ body: (any CouponStore) async throws -> T) async throws -> T {
        switch self {
        case .sqlite:
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("cg-store-\(UUID().uuidString)").path
            defer { try? FileManager.default.removeItem(atPath: directory) }
            let store = try await SQLiteCouponStore.open(directory: directory, logger: Logger(label: "test.sqlite"))
            do {
                let result = try await body(store)
                await store.close()
                return result
            } catch {
                await store.close()
                throw error
            }
        case .postgres:
            return try await TestPostgres.withDatabase { url in
                try await TestPostgres.withStore(url) { store in try await body(store) }
            }
        case .mysql:
            return try await TestMySQL.withDatabase { url in
                try await TestMySQL.withStore(url) { store in try await body(store) }
            }
        }
    }
}
