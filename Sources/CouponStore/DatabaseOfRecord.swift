import CouponCore
import ServiceLifecycle

/// The database of record in distributed mode, PostgreSQL or MySQL: a store whose connections live
/// while its `run()` runs, and whose schema it migrates itself.
public protocol DatabaseOfRecord: CouponStore, Service {
    /// Applies the migrations this version knows and the database lacks. Safe to call from many
    /// instances at once; needs `run()` to be running.
    ///
    /// - Throws: ``CouponStoreError`` if the database's schema is newer than this code, or a migration fails.
    func migrate() async throws

    /// The database's kind and URL (password masked), for messages: "PostgreSQL at postgres://…".
    var location: String { get }
}

extension DatabaseOfRecord {
    /// Runs the store, migrates, then runs `body`; stops the store when `body` returns or throws.
    public func withRunning<T>(_ body: () async throws -> T) async throws -> T {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await self.run() }
            // Cancelling run() closes the connections; the group then waits for it to finish.
            defer { group.cancelAll() }
            try await self.migrate()
            return try await body()
        }
    }
}
