import NIOPosix

/// Statements on a connection of its own, for tools and tests that manage databases
/// (`CREATE DATABASE`, `DROP DATABASE`, holding a table lock in a fault test). Not for store data.
package enum MySQLAdministration {
    /// Runs `sql` (no values) on a fresh connection to `url` and closes it.
    package static func execute(_ sql: String, on url: MySQLURL, timeout: Duration = .seconds(10)) async throws {
        try await Self.holding([sql], on: url, timeout: timeout) {}
    }

    /// Runs `statements` (no values) on a fresh connection to `url`, keeps it open while `body` runs,
    /// then closes it: what the statements hold (a table lock, an open transaction) is released then.
    package static func holding<T>(
        _ statements: [String],
        on url: MySQLURL,
        timeout: Duration = .seconds(10),
        _ body: () async throws -> T
    ) async throws -> T {
        let connection = try await NIOThreadPool.singleton.runIfActive {
            let connection = try MySQLConnection.open(url, timeouts: .init(connect: timeout, io: timeout))
            for statement in statements { try connection.execute(statement) }
            return connection
        }
        defer { connection.interrupt() }
        return try await body()
    }
}
