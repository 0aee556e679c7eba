import CouponRedis
import CouponStore
import Logging

/// Waits, bounded, for the database of record and Redis (when the process uses it) at start, and migrates the database.
///
/// The services start together, so the first calls may find no connection
/// yet; rather than fail the start on that, this retries for `timeout` and
/// then fails with one line naming what did not answer.
struct DistributedStartup {
    let store: any DatabaseOfRecord
    /// Nil for a process without Redis (`consume`).
    let redis: RedisService?
    let logger: Logger
    var timeout: Duration = .seconds(30)

    func prepare() async throws {
        let deadline = ContinuousClock.now + self.timeout
        var lastError: (any Error)?
        while ContinuousClock.now < deadline {
            do {
                try await self.store.migrate()
                lastError = nil
                break
            } catch {
                lastError = error
                try await Task.sleep(for: .milliseconds(250))
            }
        }
        if let lastError {
            throw StartupError("\(self.store.location) is not usable after \(self.timeout): \(lastError)")
        }
        guard let redis = self.redis else {
            self.logger.info("Database migrated", metadata: ["database": "\(self.store.location)"])
            return
        }
        while !redis.isConnected {
            guard ContinuousClock.now < deadline else {
                throw StartupError("Redis did not accept a connection within \(self.timeout)")
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        self.logger.info("Database migrated and Redis connected", metadata: ["database": "\(self.store.location)"])
    }
}

/// A dependency that did not become usable at start; the message names it.
public struct StartupError: Error, CustomStringConvertible, Sendable {
    public let description: String

    init(_ description: String) {
        self.description = description
    }
}
