import CouponCore
import Foundation

/// Where and how to reach a PostgreSQL database, parsed from a libpq-style connection URL.
///
/// Accepted forms (the scheme may also be `postgresql://`):
/// - TCP: `postgres://user:password@host:port/database` (port defaults to 5432; an IPv6 host goes in brackets).
/// - Unix socket, as libpq writes it: `postgres://user@/database?host=/path/to/socketdir`, optionally with a port
///   (`postgres://user@:5433/database?host=/dir`): the socket is `<dir>/.s.PGSQL.<port>`. A percent-encoded
///   absolute path in the host position (`postgres://user@%2Fvar%2Frun%2Fpostgresql/database`) means the same.
///
/// Query parameters: `host`, `port`, `sslmode` (`disable`, `prefer`, `require`, `verify-full`; libpq's meanings,
/// default `prefer` over TCP) and `connect_timeout` (whole seconds). User name, password and database are
/// percent-decoded. Anything else is refused, so a typo cannot silently change how the store connects.
public struct PostgresURL: Sendable, Hashable, CustomStringConvertible {
    public enum Endpoint: Sendable, Hashable {
        case tcp(host: String, port: Int)
        /// `directory` holds the socket file `.s.PGSQL.<port>`.
        case unixSocket(directory: String, port: Int)
    }

    /// TLS use, as libpq's `sslmode`: `prefer` and `require` encrypt without checking the certificate.
    public enum SSLMode: String, Sendable, Hashable, CaseIterable {
        case disable
        case prefer
        case require
        case verifyFull = "verify-full"
    }

    public static let defaultPort = 5432

    public var endpoint: Endpoint
    public var user: String
    public var password: String?
    public var database: String
    public var sslMode: SSLMode
    /// How long opening one connection may take; `nil` keeps postgres-nio's default (10 s).
    public var connectTimeout: Duration?

    public init(
        endpoint: Endpoint,
        user: String,
        password: String?,
        database: String,
        sslMode: SSLMode = .prefer,
        connectTimeout: Duration? = nil
    ) {
        self.endpoint = endpoint
        self.user = user
        self.password = password
        self.database = database
        self.sslMode = sslMode
        self.connectTimeout = connectTimeout
    }

    /// The path of the unix socket file, for a socket endpoint.
    public var socketPath: String? {
        guard case .unixSocket(let directory, let port) = self.endpoint else { return nil }
        let trimmed = directory.hasSuffix("/") && directory.count > 1 ? String(directory.dropLast()) : directory
        return "\(trimmed)/.s.PGSQL.\(port)"
    }

    /// The URL with the password replaced by `***`, safe for logs and error messages.
    public var description: String {
        var query: [String] = []
        let host: String
        switch self.endpoint {
        case .tcp(let name, let port):
            host = ConnectionURL.authority(host: name, port: port, defaultPort: Self.defaultPort)
        case .unixSocket(let directory, let port):
            host = port == Self.defaultPort ? "" : ":\(port)"
            query.append("host=\(directory)")
        }
        if self.sslMode != .prefer, case .tcp = self.endpoint { query.append("sslmode=\(self.sslMode.rawValue)") }
        if let connectTimeout = self.connectTimeout { query.append("connect_timeout=\(connectTimeout.components.seconds)") }
        return ConnectionURL.describe(
            scheme: "postgres",
            user: self.user,
            hasPassword: self.password != nil,
            host: host,
            database: self.database,
            query: query
        )
    }
}

// MARK: Parsing

extension PostgresURL {
    /// Parses a connection URL.
    ///
    /// - Throws: ``CouponStoreError`` naming what is wrong, with the password masked.
    public init(_ text: String) throws(CouponStoreError) {
        let url = try ConnectionURL(
            text,
            kind: "PostgreSQL URL",
            schemes: ["postgres", "postgresql"],
            example: "postgres://user:password@host:port/database"
        )
        var host = url.host
        var portParameter: String?
        var sslMode: SSLMode?
        var connectTimeout: Duration?
        for (key, value) in url.parameters {
            switch key {
            case "host":
                guard host.isEmpty else { throw url.failure("names the host twice: '\(host)' and host=\(value)") }
                host = value
            case "port":
                portParameter = value
            case "sslmode":
                guard let mode = SSLMode(rawValue: value) else {
                    throw url.failure("has sslmode '\(value)'; use one of \(SSLMode.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                sslMode = mode
            case "connect_timeout":
                guard let seconds = Int(value), seconds > 0 else {
                    throw url.failure("has connect_timeout '\(value)'; expected a whole number of seconds, at least 1")
                }
                connectTimeout = .seconds(seconds)
            default:
                throw url.failure("has unknown parameter '\(key)'; known: host, port, sslmode, connect_timeout")
            }
        }
        let port = try url.portNumber(parameter: portParameter, default: Self.defaultPort)
        func failure(_ problem: String) -> CouponStoreError { url.failure(problem) }
        let user = url.user
        guard !user.isEmpty else { throw failure("has no user name; expected postgres://USER[:password]@host/database") }
        let database = url.database
        let password = url.password
        guard !database.isEmpty else { throw failure("names no database; expected postgres://user@host/DATABASE") }
        guard !database.contains("/") else { throw failure("has database '\(database)', which contains '/'") }

        let endpoint: Endpoint
        if host.hasPrefix("/") {
            guard sslMode == nil || sslMode == .disable || sslMode == .prefer else {
                throw failure("asks for sslmode=\(sslMode?.rawValue ?? "") over a unix socket, which has no TLS")
            }
            endpoint = .unixSocket(directory: host, port: port)
        } else {
            guard !host.isEmpty else {
                throw failure("has no host; expected postgres://user@HOST/database, or ?host=/socket/dir for a unix socket")
            }
            endpoint = .tcp(host: host, port: port)
        }
        self.init(
            endpoint: endpoint,
            user: user,
            password: password,
            database: database,
            sslMode: sslMode ?? (host.hasPrefix("/") ? .disable : .prefer),
            connectTimeout: connectTimeout
        )
    }
}
