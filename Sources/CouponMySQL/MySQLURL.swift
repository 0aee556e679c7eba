import CouponCore
import CouponStore

/// Where and how to reach a MySQL or MariaDB database, parsed from a connection URL.
///
/// Accepted forms (the scheme may also be `mariadb://`):
/// - TCP: `mysql://user:password@host:port/database` (port defaults to 3306; an IPv6 host goes in brackets).
/// - Unix socket: `mysql://user:password@localhost/database?socket=/run/mysqld/mysqld.sock` (the host is
///   empty or `localhost`).
///
/// Query parameters: `socket`, `connect-timeout` (whole seconds), and TLS, with the MySQL client's names:
/// `ssl-mode` (`disabled`, the default; `required`: encrypt without checking the certificate;
/// `verify-identity`: encrypt, check the certificate against `ssl-ca` or the system's CAs, and check
/// the host name), `ssl-ca`, `ssl-cert`, `ssl-key` (PEM file paths). User name, password and database are
/// percent-decoded. Anything else is refused, so a typo cannot silently change how the store connects.
public struct MySQLURL: Sendable, Hashable, CustomStringConvertible {
    public enum Endpoint: Sendable, Hashable {
        case tcp(host: String, port: Int)
        case unixSocket(path: String)
    }

    public enum SSLMode: String, Sendable, Hashable, CaseIterable {
        case disabled
        case required
        case verifyIdentity = "verify-identity"
    }

    /// Client certificate and trust settings, passed to Connector/C as they are.
    public struct TLSFiles: Sendable, Hashable {
        public var ca: String?
        public var certificate: String?
        public var key: String?

        public init(ca: String? = nil, certificate: String? = nil, key: String? = nil) {
            self.ca = ca
            self.certificate = certificate
            self.key = key
        }

        var isEmpty: Bool { self.ca == nil && self.certificate == nil && self.key == nil }
    }

    public static let defaultPort = 3306

    public var endpoint: Endpoint
    public var user: String
    public var password: String?
    public var database: String
    public var sslMode: SSLMode
    public var tlsFiles: TLSFiles
    /// How long opening one connection may take; `nil` keeps the store's default.
    public var connectTimeout: Duration?

    public init(
        endpoint: Endpoint,
        user: String,
        password: String?,
        database: String,
        sslMode: SSLMode = .disabled,
        tlsFiles: TLSFiles = .init(),
        connectTimeout: Duration? = nil
    ) {
        self.endpoint = endpoint
        self.user = user
        self.password = password
        self.database = database
        self.sslMode = sslMode
        self.tlsFiles = tlsFiles
        self.connectTimeout = connectTimeout
    }

    /// The URL with the password replaced by `***`, safe for logs and error messages.
    public var description: String {
        var query: [String] = []
        let host: String
        switch self.endpoint {
        case .tcp(let name, let port):
            host = ConnectionURL.authority(host: name, port: port, defaultPort: Self.defaultPort)
        case .unixSocket(let path):
            host = "localhost"
            query.append("socket=\(path)")
        }
        if self.sslMode != .disabled { query.append("ssl-mode=\(self.sslMode.rawValue)") }
        if let ca = self.tlsFiles.ca { query.append("ssl-ca=\(ca)") }
        if let certificate = self.tlsFiles.certificate { query.append("ssl-cert=\(certificate)") }
        if let key = self.tlsFiles.key { query.append("ssl-key=\(key)") }
        if let connectTimeout = self.connectTimeout { query.append("connect-timeout=\(connectTimeout.components.seconds)") }
        return ConnectionURL.describe(
            scheme: "mysql",
            user: self.user,
            hasPassword: self.password != nil,
            host: host,
            database: self.database,
            query: query
        )
    }
}

// MARK: Parsing

extension MySQLURL {
    /// Parses a connection URL.
    ///
    /// - Throws: ``CouponStoreError`` naming what is wrong, with the password masked.
    public init(_ text: String) throws(CouponStoreError) {
        let url = try ConnectionURL(
            text,
            kind: "MySQL URL",
            schemes: ["mysql", "mariadb"],
            example: "mysql://user:password@host:port/database"
        )
        var socket: String?
        var sslMode: SSLMode?
        var files = TLSFiles()
        var connectTimeout: Duration?
        for (key, value) in url.parameters {
            switch key {
            case "socket":
                guard value.hasPrefix("/") else { throw url.failure("has socket '\(value)'; expected an absolute path") }
                socket = value
            case "ssl-mode":
                // The MySQL client spells these in capitals with '_'; both spellings mean the same.
                let spelled = value.lowercased().replacing("_", with: "-")
                guard let mode = SSLMode(rawValue: spelled) else {
                    throw url.failure("has ssl-mode '\(value)'; use one of \(SSLMode.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                sslMode = mode
            case "ssl-ca", "ssl-cert", "ssl-key":
                guard !value.isEmpty else { throw url.failure("has an empty \(key); expected a file path") }
                if key == "ssl-ca" { files.ca = value } else if key == "ssl-cert" { files.certificate = value } else { files.key = value }
            case "connect-timeout":
                guard let seconds = Int(value), seconds > 0 else {
                    throw url.failure("has connect-timeout '\(value)'; expected a whole number of seconds, at least 1")
                }
                connectTimeout = .seconds(seconds)
            default:
                throw url.failure("has unknown parameter '\(key)'; known: socket, ssl-mode, ssl-ca, ssl-cert, ssl-key, connect-timeout")
            }
        }
        guard !url.user.isEmpty else { throw url.failure("has no user name; expected mysql://USER[:password]@host/database") }
        guard !url.database.isEmpty else { throw url.failure("names no database; expected mysql://user@host/DATABASE") }
        guard !url.database.contains("/") else { throw url.failure("has database '\(url.database)', which contains '/'") }
        guard (files.certificate == nil) == (files.key == nil) else {
            throw url.failure("gives only one of ssl-cert and ssl-key; a client certificate needs both")
        }

        let endpoint: Endpoint
        if let socket {
            guard url.host.isEmpty || url.host == "localhost" else {
                throw url.failure("names host '\(url.host)' and a socket; give one (the host of a socket URL is empty or localhost)")
            }
            guard url.port == nil else { throw url.failure("names a port and a socket; give one") }
            guard sslMode == nil || sslMode == .disabled else {
                throw url.failure("asks for ssl-mode=\(sslMode?.rawValue ?? "") over a unix socket, which has no TLS")
            }
            endpoint = .unixSocket(path: socket)
        } else {
            guard !url.host.isEmpty else {
                throw url.failure("has no host; expected mysql://user@HOST/database, or ?socket=/path for a unix socket")
            }
            endpoint = .tcp(host: url.host, port: try url.portNumber(parameter: nil, default: Self.defaultPort))
        }
        let mode = sslMode ?? .disabled
        guard mode != .disabled || files.isEmpty else {
            throw url.failure("gives TLS files but ssl-mode is disabled; add ssl-mode=required or ssl-mode=verify-identity")
        }
        self.init(
            endpoint: endpoint,
            user: url.user,
            password: url.password,
            database: url.database,
            sslMode: mode,
            tlsFiles: files,
            connectTimeout: connectTimeout
        )
    }
}
