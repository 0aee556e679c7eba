/// How to reach Redis and how the client behaves; every setting has a default suited to a busy service.
public struct RedisConfiguration: Sendable {
    public enum Endpoint: Sendable, Hashable, CustomStringConvertible {
        case tcp(host: String, port: Int)
        case unix(path: String)

        public var description: String {
            switch self {
            case .tcp(let host, let port): host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
            case .unix(let path): "unix:\(path)"
            }
        }
    }

    public var endpoint: Endpoint
    /// ACL user name; `nil` means the `default` user.
    public var username: String?
    /// When set, the connection authenticates (`HELLO 3 AUTH` or `AUTH`) before any command.
    public var password: String?
    /// The logical database, selected after connecting when not 0. Default 0.
    public var database: Int
    /// Connections kept open. Commands are pipelined, so a few carry a lot of traffic. Default 2.
    public var connectionCount: Int
    /// Deadline of every call to `send` and `pipeline`. Default 1 s.
    public var commandTimeout: Duration
    /// Deadline of the TCP (or unix socket) connect, and separately of the handshake. Default 1 s.
    public var connectTimeout: Duration
    /// Delay before reconnecting: starts at `initial`, doubles after each failure up to `maximum`. Default 50 ms … 2 s.
    public var reconnectDelay: (initial: Duration, maximum: Duration)
    /// Speak RESP3 (`HELLO 3`, Redis 6+). `false` keeps RESP2 and authenticates with `AUTH`. Default true.
    public var useRESP3: Bool

    public init(endpoint: Endpoint) {
        self.endpoint = endpoint
        self.username = nil
        self.password = nil
        self.database = 0
        self.connectionCount = 2
        self.commandTimeout = .seconds(1)
        self.connectTimeout = .seconds(1)
        self.reconnectDelay = (initial: .milliseconds(50), maximum: .seconds(2))
        self.useRESP3 = true
    }

    /// Reads a configuration from a URL:
    /// `redis://[[user]:password@]host[:port][/db]` (port 6379 by default) or
    /// `unix://[[user]:password@]/path/to.sock[?db=N]`. User and password may be percent-encoded.
    /// - Throws: `RedisClientError(.invalidConfiguration)` whose message names what is wrong.
    public init(url: String) throws {
        var rest = Substring(url)
        let scheme: Substring
        if let separator = rest.firstRange(of: "://") {
            scheme = rest[..<separator.lowerBound]
            rest = rest[separator.upperBound...]
        } else {
            throw Self.invalid(url, "it has no scheme; expected redis://host:port or unix:///path")
        }
        guard scheme == "redis" || scheme == "unix" else {
            let hint = scheme == "rediss" ? " (TLS is not supported)" : ""
            throw Self.invalid(url, "unsupported scheme \"\(scheme)\"\(hint); expected redis:// or unix://")
        }

        // The query is only defined for unix sockets (where the path leaves no room for /db).
        var query: Substring = ""
        if let questionMark = rest.firstIndex(of: "?") {
            query = rest[rest.index(after: questionMark)...]
            rest = rest[..<questionMark]
        }

        // Credentials: the part before the last "@" of the authority (a password may contain "@" only encoded).
        var username: String?
        var password: String?
        let authorityEnd = rest.firstIndex(of: "/") ?? rest.endIndex
        if let at = rest[..<authorityEnd].lastIndex(of: "@") {
            let userInfo = rest[..<at]
            rest = rest[rest.index(after: at)...]
            // "redis://secret@host" (no colon) is read as a password, as redis-cli and most clients do.
            let colon = userInfo.firstIndex(of: ":")
            let user = colon.map { userInfo[..<$0] } ?? ""
            let pass = colon.map { userInfo[userInfo.index(after: $0)...] } ?? userInfo
            guard let decodedUser = Self.percentDecoded(user), let decodedPassword = Self.percentDecoded(pass) else {
                throw Self.invalid(url, "the user or password has an invalid percent escape")
            }
            username = decodedUser.isEmpty ? nil : decodedUser
            password = decodedPassword.isEmpty ? nil : decodedPassword
        }

        var database = 0
        if scheme == "unix" {
            guard rest.first == "/", rest.count > 1 else {
                throw Self.invalid(url, "a unix socket URL needs an absolute path, e.g. unix:///run/redis.sock")
            }
            self.init(endpoint: .unix(path: String(rest)))
            for item in query.split(separator: "&") {
                let pair = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                switch pair.first {
                case "db":
                    database = try Self.database(pair.count == 2 ? pair[1] : "", in: url)
                default:
                    throw Self.invalid(url, "unknown query parameter \"\(pair.first ?? "")\"; only db=N is understood")
                }
            }
        } else {
            guard query.isEmpty else {
                throw Self.invalid(url, "redis:// URLs take no query; put the database in the path: redis://host:6379/2")
            }
            var hostAndPort = rest
            if let slash = rest.firstIndex(of: "/") {
                hostAndPort = rest[..<slash]
                let path = rest[rest.index(after: slash)...]
                if !path.isEmpty {
                    database = try Self.database(path, in: url)
                }
            }
            let (host, port) = try Self.hostAndPort(hostAndPort, in: url)
            self.init(endpoint: .tcp(host: host, port: port))
        }
        self.username = username
        self.password = password
        self.database = database
    }

    /// Checks the settings `RedisClient.run()` relies on.
    func validate() throws {
        func check(_ condition: Bool, _ message: String) throws {
            if !condition {
                throw RedisClientError(.invalidConfiguration, message: message)
            }
        }
        switch self.endpoint {
        case .tcp(let host, let port):
            try check(!host.isEmpty, "the host is empty")
            try check((1...65535).contains(port), "port \(port) is not between 1 and 65535")
        case .unix(let path):
            try check(!path.isEmpty, "the unix socket path is empty")
        }
        try check(self.database >= 0, "database \(self.database) is negative")
        try check(self.connectionCount >= 1, "connectionCount \(self.connectionCount) is less than 1")
        try check(self.commandTimeout > .zero, "commandTimeout must be positive")
        try check(self.connectTimeout > .zero, "connectTimeout must be positive")
        try check(self.reconnectDelay.initial > .zero, "reconnectDelay.initial must be positive")
        try check(self.reconnectDelay.maximum >= self.reconnectDelay.initial, "reconnectDelay.maximum is less than reconnectDelay.initial")
        try check(self.username == nil || self.password != nil, "a username is set without a password")
    }

    // MARK: URL parsing helpers

    private static func invalid(_ url: String, _ problem: String) -> RedisClientError {
        RedisClientError(.invalidConfiguration, message: "invalid Redis URL \"\(Self.redacted(url))\": \(problem)")
    }

    /// The URL with any password replaced, so error messages and logs never show it.
    private static func redacted(_ url: String) -> String {
        guard let schemeEnd = url.firstRange(of: "://"), let at = url[schemeEnd.upperBound...].lastIndex(of: "@") else {
            return url
        }
        let userInfo = url[schemeEnd.upperBound..<at]
        let user = userInfo.firstIndex(of: ":").map { userInfo[..<$0] } ?? ""
        return "\(url[..<schemeEnd.upperBound])\(user):***\(url[at...])"
    }

    private static func database(_ text: Substring, in url: String) throws -> Int {
        guard let database = Int(text), database >= 0 else {
            throw Self.invalid(url, "the database \"\(text)\" is not a number ≥ 0")
        }
        return database
    }

    private static func hostAndPort(_ text: Substring, in url: String) throws -> (String, Int) {
        var host = text
        var portText: Substring?
        if text.first == "[" {
            // IPv6 literal: [::1]:6379
            guard let close = text.firstIndex(of: "]") else {
                throw Self.invalid(url, "the IPv6 address has no closing \"]\"")
            }
            host = text[text.index(after: text.startIndex)..<close]
            let afterClose = text[text.index(after: close)...]
            if !afterClose.isEmpty {
                guard afterClose.first == ":" else {
                    throw Self.invalid(url, "unexpected \"\(afterClose)\" after the IPv6 address")
                }
                portText = afterClose.dropFirst()
            }
        } else if let colon = text.lastIndex(of: ":") {
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
        }
        guard !host.isEmpty else {
            throw Self.invalid(url, "the host is missing")
        }
        guard let portText else {
            return (String(host), 6379)
        }
        guard let port = Int(portText), (1...65535).contains(port) else {
            throw Self.invalid(url, "the port \"\(portText)\" is not a number between 1 and 65535")
        }
        return (String(host), port)
    }

    /// Decodes `%XX` escapes; nil when an escape is malformed or the result is not UTF-8.
    private static func percentDecoded(_ text: Substring) -> String? {
        var bytes: [UInt8] = []
        var iterator = text.utf8.makeIterator()
        while let byte = iterator.next() {
            guard byte == UInt8(ascii: "%") else {
                bytes.append(byte)
                continue
            }
            guard let high = iterator.next().flatMap(Self.hexValue), let low = iterator.next().flatMap(Self.hexValue) else {
                return nil
            }
            bytes.append(high << 4 | low)
        }
        return String(validating: bytes, as: UTF8.self)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}

extension RedisConfiguration {
    /// The commands that prepare a new connection: HELLO 3 (authenticating) or AUTH, then SELECT.
    var handshake: [RedisCommand] {
        var commands: [RedisCommand] = []
        if self.useRESP3 {
            commands.append(.hello(username: self.username, password: self.password))
        } else if let password = self.password {
            commands.append(.auth(username: self.username, password: password))
        }
        if self.database != 0 {
            commands.append(.select(database: self.database))
        }
        return commands
    }
}
