import Logging
import PostgresNIO

/// BEGIN … COMMIT on one leased connection, rolled back when the body throws.
///
/// Written out rather than postgres-nio's `withTransaction` so a failure surfaces as the body's own
/// error (naming the step that failed) instead of a wrapper that hides it.
enum PostgresTransaction {
    static func run<T>(
        on connection: PostgresConnection,
        logger: Logger,
        _ body: () async throws -> T
    ) async throws -> T {
        try await connection.query("BEGIN", logger: logger)
        do {
            let value = try await body()
            do {
                try await connection.query("COMMIT", logger: logger)
            } catch {
                throw PostgresStepError(step: "committing", underlying: error)
            }
            return value
        } catch {
            // A failed statement leaves the transaction aborted; ROLLBACK ends it so the pooled
            // connection is clean again. If the connection is gone, the server has rolled back already.
            _ = try? await connection.query("ROLLBACK", logger: logger)
            throw error
        }
    }
}
