import CouponStore
import Foundation
import Logging
import PostgresNIO

/// The PostgreSQL server the tests use, which `scripts/test.sh` starts (servers/postgres-server.sh).
///
/// Each test gets a database of its own (`cg_<uuid>`, dropped afterwards), so tests run in parallel
/// and a test's migrations never meet another's.
public enum TestPostgres {
    public struct NotConfigured: Error, CustomStringConvertible {
        public var variable: String
        public var description: String { "\(self.variable) is not set: run scripts/test.sh, which starts PostgreSQL" }
    }

    /// Warnings only: a test that stops a server would otherwise log every reconnect attempt.
    public static let logger: Logger = {
        var logger = Logger(label: "test.postgres")
        logger.logLevel = .warning
        return logger
    }()

    /// The server's URL (its `coupongate_test` database), from `POSTGRES_URL`.
    ///
    /// - Throws: ``NotConfigured`` when unset: the PostgreSQL tests fail rather than skip.
    public static func url(_ variable: String = "POSTGRES_URL") throws -> PostgresURL {
        guard let text = ProcessInfo.processInfo.environment[variable], !text.isEmpty else {
            throw NotConfigured(variable: variable)
        }
        return try PostgresURL(text)
    }

    /// Creates an empty database, passes its URL to `body`, then drops it.
    @discardableResult
    public static func withDatabase<T>(_ body: (PostgresURL) async throws -> T) async throws -> T {
        let server = try Self.url()
        let name = "cg_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
        // An identifier cannot be a bind parameter; `name` is generated above, never input.
        try await Self.administer(server, "CREATE DATABASE \(name)")
        var database = server
        database.database = name
        do {
            let result = try await body(database)
            try await Self.administer(server, "DROP DATABASE \(name) WITH (FORCE)")
            return result
        } catch {
            try? await Self.administer(server, "DROP DATABASE \(name) WITH (FORCE)")
            throw error
        }
    }

    /// Runs one statement on its own short-lived connection.
    public static func administer(_ url: PostgresURL, _ sql: String) async throws {
        try await Self.withClient(url) { client in
            try await client.query(PostgresQuery(unsafeSQL: sql), logger: Self.logger)
        }
    }

    /// Runs `body` with a running postgres-nio client on `url`.
    @discardableResult
    public static func withClient<T>(_ url: PostgresURL, _ body: (PostgresClient) async throws -> T) async throws -> T {
        let client = PostgresClient(configuration: PostgresCouponStore.Configuration(url: url).clientConfiguration)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await client.run() }
            defer { group.cancelAll() }
            return try await body(client)
        }
    }

    /// A store on `url`, running and migrated for the duration of `body`.
    @discardableResult
    public static func withStore<T>(
        _ url: PostgresURL,
        operationTimeout: Duration = .seconds(20),
        _ body: (PostgresCouponStore) async throws -> T
    ) async throws -> T {
        let store = PostgresCouponStore(configuration: .init(url: url, operationTimeout: operationTimeout), logger: Self.logger)
        return try await store.withRunning { try await body(store) }
    }
}
