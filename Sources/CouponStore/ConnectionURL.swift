import CouponCore
import Foundation

/// The parts of a database connection URL, `scheme://user:password@host:port/database?key=value&…`, percent-decoded.
///
/// Shared by ``PostgresURL`` and the MySQL store's URL, which give the parts their meanings. Error messages
/// name the URL with its password masked.
package struct ConnectionURL: Sendable {
    /// The URL's kind in messages, e.g. "PostgreSQL URL".
    package let kind: String
    /// The URL as given, with the password masked.
    package let shown: String
    package let scheme: String
    package let user: String
    package let password: String?
    /// Without brackets for an IPv6 address; empty when the URL names no host.
    package let host: String
    package let port: Substring?
    /// The path after the host's '/', decoded: the database name.
    package let database: String
    /// Query parameters in order, decoded; a key appears once.
    package let parameters: [(key: String, value: String)]

    /// Splits `text` into its parts.
    ///
    /// - Parameters:
    ///   - kind: Names the URL in errors ("PostgreSQL URL").
    ///   - schemes: The accepted schemes, lower-case; the first is the one the messages suggest.
    ///   - example: The form a user should write, for the "is not a URL" message.
    package init(_ text: String, kind: String, schemes: [String], example: String) throws(CouponStoreError) {
        let shown = Self.redacted(text)
        self.kind = kind
        self.shown = shown
        func failure(_ problem: String) -> CouponStoreError {
            CouponStoreError(.invalidURL, "\(kind) '\(shown)' \(problem)")
        }

        guard let schemeEnd = text.firstRange(of: "://") else {
            throw failure("is not a URL; expected \(example)")
        }
        let scheme = text[..<schemeEnd.lowerBound].lowercased()
        guard schemes.contains(scheme) else {
            let expected = schemes.map { "\($0)://" }.joined(separator: " or ")
            throw failure("has scheme '\(scheme)'; expected \(expected)")
        }
        self.scheme = scheme
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
            password = try Self.decode(userPart[userPart.index(after: colon)...], naming: "password", kind: kind, in: shown)
        }
        self.password = password
        self.user = try Self.decode(userText, naming: "user name", kind: kind, in: shown)

        if hostPart.hasPrefix("[") {
            guard let close = hostPart.firstIndex(of: "]") else { throw failure("has an IPv6 host without its closing ']'") }
            self.host = String(hostPart[hostPart.index(after: hostPart.startIndex)..<close])
            let after = hostPart[hostPart.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { throw failure("has '\(after)' after the IPv6 host; expected ':port'") }
                self.port = after.dropFirst()
            } else {
                self.port = nil
            }
        } else if let colon = hostPart.lastIndex(of: ":") {
            self.host = try Self.decode(hostPart[..<colon], naming: "host", kind: kind, in: shown)
            self.port = hostPart[hostPart.index(after: colon)...]
        } else {
            self.host = try Self.decode(hostPart, naming: "host", kind: kind, in: shown)
            self.port = nil
        }
        self.database = try Self.decode(path, naming: "database", kind: kind, in: shown)

        var parameters: [(key: String, value: String)] = []
        for pair in queryText.split(separator: "&", omittingEmptySubsequences: true) {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let key = String(parts[0])
            let value = try Self.decode(parts.count > 1 ? parts[1] : "", naming: "parameter '\(key)'", kind: kind, in: shown)
            guard !parameters.contains(where: { $0.key == key }) else { throw failure("gives parameter '\(key)' twice") }
            parameters.append((key, value))
        }
        self.parameters = parameters
    }

    /// An error about this URL: "<kind> '<url>' <problem>".
    package func failure(_ problem: String) -> CouponStoreError {
        CouponStoreError(.invalidURL, "\(self.kind) '\(self.shown)' \(problem)")
    }

    /// The port, from the URL or a `port` parameter, else `defaultPort`.
    package func portNumber(parameter: String?, default defaultPort: Int) throws(CouponStoreError) -> Int {
        if self.port != nil, parameter != nil { throw self.failure("names the port twice") }
        guard let text = self.port.map(String.init) ?? parameter else { return defaultPort }
        guard let value = Int(text), (1...65535).contains(value) else {
            throw self.failure("has port '\(text)'; expected a number from 1 to 65535")
        }
        return value
    }

    /// `text` with whatever stands between `user:` and `@` masked, for error messages about unparsable URLs.
    package static func redacted(_ text: String) -> String {
        guard let schemeEnd = text.firstRange(of: "://") else { return text }
        let afterScheme = text[schemeEnd.upperBound...]
        let authorityEnd = afterScheme.firstIndex(where: { $0 == "/" || $0 == "?" }) ?? afterScheme.endIndex
        let authority = afterScheme[..<authorityEnd]
        guard let at = authority.lastIndex(of: "@"), let colon = authority[..<at].firstIndex(of: ":") else { return text }
        return String(text[..<authority.index(after: colon)]) + "***" + String(text[at...])
    }

    private static func decode(_ text: Substring, naming what: String, kind: String, in shown: String) throws(CouponStoreError) -> String {
        guard text.contains("%") else { return String(text) }
        guard let decoded = String(text).removingPercentEncoding else {
            throw CouponStoreError(
                .invalidURL,
                "\(kind) '\(shown)' has a bad percent-escape in the \(what); expected %XX with hex digits, encoding UTF-8"
            )
        }
        return decoded
    }

    /// A URL's text for logs and errors, the password replaced by `***`: `scheme://user[:***]@host/database[?query]`.
    /// `host` is the authority after the `@` as it should appear (brackets and port included).
    package static func describe(
        scheme: String,
        user: String,
        hasPassword: Bool,
        host: String,
        database: String,
        query: [String]
    ) -> String {
        var text = "\(scheme)://\(Self.encode(user))\(hasPassword ? ":***" : "")@\(host)/\(Self.encode(database))"
        if !query.isEmpty { text += "?" + query.joined(separator: "&") }
        return text
    }

    /// `host[:port]` for a URL, the host in brackets when it is an IPv6 address, the port left out when it is the default.
    package static func authority(host: String, port: Int, defaultPort: Int) -> String {
        (host.contains(":") ? "[\(host)]" : host) + (port == defaultPort ? "" : ":\(port)")
    }

    /// Percent-encodes what would break a URL's structure, for a URL's `description`.
    package static func encode(_ text: String) -> String {
        var out = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                let hex = String(byte, radix: 16, uppercase: true)
                out += "%" + (hex.count < 2 ? "0" + hex : hex)
            }
        }
        return out
    }
}
