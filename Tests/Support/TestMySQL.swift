import CouponMySQL
import CouponStore
import Foundation
import Logging

/// The MariaDB server the tests use, which `scripts/test.sh` starts (servers/mariadb-server.sh).
///
/// Each test gets a database of its own (`cg_<uuid>`, dropped afterwards), so tests run in parallel
/// and a test's migrations never meet another's.
public enum TestMySQL {
    public struct NotConfigured: Error, CustomStringConvertible {
        public var variable: String
        public var description: String { "\(self.variable) is not set: run scripts/test.sh, which starts MariaDB" }
    }

    public static let logger: Logger = {
        var logger = Logger(label: "test.mysql")
        logger.logLevel = .warning
        return logger
    }()

    /// The server's URL (its `coupongate_test` database), from `MYSQL_URL`.
    ///
    /// - Throws: ``NotConfigured`` when unset: the MariaDB tests fail rather than skip.
    public static func url(_ variable: String = "MYSQL_URL") throws -> MySQLURL {
        guard let text = ProcessInfo.processInfo.environment[variable], !text.isEmpty else {
            throw NotConfigured(variable: variable)
        }
        return try MySQLURL(text)
    }

    /// The path of a CA certificate servers/mariadb-server.sh made: `MYSQL_TLS_CA`, the one that signed the
    /// server's certificate, or `MYSQL_TLS_OTHER_CA`, one that did not.
    public static func certificateAuthority(_ variable: String = "MYSQL_TLS_CA") throws -> String {
        guard let path = ProcessInfo.processInfo.environment[variable], !path.isEmpty else {
            throw NotConfigured(variable: variable)
        }
        return path
    }

    /// Creates an empty database, passes its URL to `body`, then drops it.
    @discardableResult
    public static func withDatabase<T>(_ body: (MySQLURL) async throws -> T) async throws -> T {
        try await Self.withDatabase(on: try Self.url(), body)
    }

    /// Creates an empty database on the server `server` names, passes its URL to `body`, then drops it.
    @discardableResult
    public static func withDatabase<T>(on server: MySQLURL, _ body: (MySQLURL) async throws -> T) async throws -> T {
        let name = "cg_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
        // An identifier cannot be a bound value; `name` is generated above, never input.
        try await MySQLAdministration.execute("CREATE DATABASE \(name)", on: server)
        var database = server
        database.database = name
        do {
            let result = try await body(database)
            try await MySQLAdministration.execute("DROP DATABASE \(name)", on: server)
            return result
        } catch {
            try? await MySQLAdministration.execute("DROP DATABASE \(name)", on: server)
            throw error
        }
    }

    /// A store on `url`, running and migrated for the duration of `body`.
    @discardableResult
    public static func withStore<T>(
        _ url: MySQLURL,
        operationTimeout: Duration = .seconds(20),
        _ body: (MySQLCouponStore) async throws -> T
    ) async throws -> T {
        let store = MySQLCouponStore(configuration: .init(url: url, operationTimeout: operationTimeout), logger: Self.logger)
        return try await store.withRunning { try await body(store) }
    }
}
