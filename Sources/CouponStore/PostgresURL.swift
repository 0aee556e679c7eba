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
        var text = "postgres://\(Self.encode(self.user))"
        if self.password != nil { text += ":***" }
        text += "@"
        var query: [String] = []
        switch self.endpoint {
        case .tcp(let host, let port):
            text += host.contains(":") ? "[\(host)]" : host
            if port != Self.defaultPort { text += ":\(port)" }
        case .unixSocket(let directory, let port):
            if port != Self.defaultPort { text += ":\(port)" }
            query.append("host=\(directory)")
        }
        text += "/\(Self.encode(self.database))"
        if self.sslMode != .prefer, case .tcp = self.endpoint { query.append("sslmode=\(self.sslMode.rawValue)") }
        if let connectTimeout = self.connectTimeout { query.append("connect_timeout=\(connectTimeout.components.seconds)") }
        if !query.isEmpty { text += "?" + query.joined(separator: "&") }
        return text
    }
}

// MARK: Parsing

extension PostgresURL {
    /// Parses a connection URL.
    ///
    /// - Throws: ``CouponStoreError`` naming what is wrong, with the password masked.
    public init(_ text: String) throws(CouponStoreError) {
        let shown = Self.redacted(text)
        func failure(_ problem: String) -> CouponStoreError {
            CouponStoreError("PostgreSQL URL '\(shown)' \(problem)")
        }

        guard let schemeEnd = text.firstRange(of: "://") else {
            throw failure("is not a URL; expected postgres://user:password@host:port/database")
        }
        let scheme = text[..<schemeEnd.lowerBound].lowercased()
        guard scheme == "postgres" || scheme == "postgresql" else {
            throw failure("has scheme '\(scheme)'; expected postgres:// or postgresql://")
        }
        var rest = Substring(text[schemeEnd.upperBound...])
        guard !rest.contains("#") else { throw failure("has a '#' fragment, which a connection URL cannot have") }

        var queryText: Substring = ""
        if let mark = rest.firstIndex(of: "?") {
            queryText = rest[rest.index(after: mark)...]
            rest = rest[..<mark]
        }
        let authority: Substring
        let path: Substring
        if let slash = rest.firstIndex(of: "/") {
            authority = rest[..<slash]
            path = rest[rest.index(after: slash)...]
        } else {
            authority = rest
            path = ""
        }

        // user[:password]@host[:port]; the last '@' ends the user part so an unencoded '@' in a password still works.
        var userPart: Substring = ""
        var hostPart = authority
        if let at = authority.lastIndex(of: "@") {
            userPart = authority[..<at]
            hostPart = authority[authority.index(after: at)...]
        }
        var password: String?
        var userText = userPart
        if let colon = userPart.firstIndex(of: ":") {
            userText = userPart[..<colon]
            password = try Self.decode(userPart[userPart.index(after: colon)...], naming: "password", in: shown)
        }
        let user = try Self.decode(userText, naming: "user name", in: shown)

        var host: String
        var portText: Substring?
        if hostPart.hasPrefix("[") {
            guard let close = hostPart.firstIndex(of: "]") else { throw failure("has an IPv6 host without its closing ']'") }
            host = String(hostPart[hostPart.index(after: hostPart.startIndex)..<close])
            let after = hostPart[hostPart.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { throw failure("has '\(after)' after the IPv6 host; expected ':port'") }
                portText = after.dropFirst()
            }
        } else if let colon = hostPart.lastIndex(of: ":") {
            host = try Self.decode(hostPart[..<colon], naming: "host", in: shown)
            portText = hostPart[hostPart.index(after: colon)...]
        } else {
            host = try Self.decode(hostPart, naming: "host", in: shown)
        }

        var sslMode: SSLMode?
        var connectTimeout: Duration?
        var seen: Set<String> = []
        for pair in queryText.split(separator: "&", omittingEmptySubsequences: true) {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let key = String(parts[0])
            let value = try Self.decode(parts.count > 1 ? parts[1] : "", naming: "parameter '\(key)'", in: shown)
            guard seen.insert(key).inserted else { throw failure("gives parameter '\(key)' twice") }
            switch key {
            case "host":
                guard host.isEmpty else { throw failure("names the host twice: '\(host)' and host=\(value)") }
                host = value
            case "port":
                guard portText == nil else { throw failure("names the port twice") }
                portText = Substring(value)
            case "sslmode":
                guard let mode = SSLMode(rawValue: value) else {
                    throw failure("has sslmode '\(value)'; use one of \(SSLMode.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                sslMode = mode
            case "connect_timeout":
                guard let seconds = Int(value), seconds > 0 else {
                    throw failure("has connect_timeout '\(value)'; expected a whole number of seconds, at least 1")
                }
                connectTimeout = .seconds(seconds)
            default:
                throw failure("has unknown parameter '\(key)'; known: host, port, sslmode, connect_timeout")
            }
        }

        var port = Self.defaultPort
        if let portText {
            guard let value = Int(portText), (1...65535).contains(value) else {
                throw failure("has port '\(portText)'; expected a number from 1 to 65535")
            }
            port = value
        }
        guard !user.isEmpty else { throw failure("has no user name; expected postgres://USER[:password]@host/database") }
        let database = try Self.decode(path, naming: "database", in: shown)
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

    /// `text` with whatever stands between `user:` and `@` masked, for error messages about unparsable URLs.
    static func redacted(_ text: String) -> String {
        guard let schemeEnd = text.firstRange(of: "://") else { return text }
        let afterScheme = text[schemeEnd.upperBound...]
        let authorityEnd = afterScheme.firstIndex(where: { $0 == "/" || $0 == "?" }) ?? afterScheme.endIndex
        let authority = afterScheme[..<authorityEnd]
        guard let at = authority.lastIndex(of: "@"), let colon = authority[..<at].firstIndex(of: ":") else { return text }
        return String(text[..<authority.index(after: colon)]) + "***" + String(text[at...])
    }

    private static func decode(_ text: Substring, naming what: String, in shown: String) throws(CouponStoreError) -> String {
        guard text.contains("%") else { return String(text) }
        guard let decoded = String(text).removingPercentEncoding else {
            throw CouponStoreError("PostgreSQL URL '\(shown)' has a bad percent-escape in the \(what); expected %XX with hex digits, encoding UTF-8")
        }
        return decoded
    }

    /// Percent-encodes what would break the URL's structure, for ``description``.
    private static func encode(_ text: String) -> String {
        var out = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                out += "%" + String(byte, radix: 16, uppercase: true).leftPadded(to: 2)
            }
        }
        return out
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        self.count >= width ? self : String(repeating: "0", count: width - self.count) + self
    }
}
