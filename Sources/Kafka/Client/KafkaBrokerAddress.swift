/// A broker to bootstrap from, `host:port`.
public struct KafkaBrokerAddress: Sendable, Hashable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// Parses `host:port` (an IPv6 host in brackets, `[::1]:9092`); the port defaults to 9092.
    ///
    /// - Throws: `.invalidArgument` naming the text when the host is empty or the port is not 1–65535.
    public init(parsing text: some StringProtocol) throws {
        let text = String(text.drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed())
        var host = Substring(text)
        var portText: Substring?
        if host.hasPrefix("[") {
            guard let close = host.firstIndex(of: "]") else {
                throw KafkaError(.invalidArgument, message: "broker address '\(text)' has no ']' after its IPv6 host")
            }
            let rest = host[host.index(after: close)...]
            host = host[host.index(after: host.startIndex)..<close]
            if !rest.isEmpty {
                guard rest.hasPrefix(":") else {
                    throw KafkaError(.invalidArgument, message: "broker address '\(text)' has '\(rest)' after its host; expected ':PORT'")
                }
                portText = rest.dropFirst()
            }
        } else if let colon = host.lastIndex(of: ":") {
            portText = host[host.index(after: colon)...]
            host = host[..<colon]
        }
        guard !host.isEmpty else {
            throw KafkaError(.invalidArgument, message: "broker address '\(text)' has no host; expected HOST:PORT")
        }
        var port = 9092
        if let portText {
            guard let value = Int(portText), (1...65535).contains(value) else {
                throw KafkaError(.invalidArgument, message: "broker address '\(text)' has port '\(portText)'; expected 1–65535")
            }
            port = value
        }
        self.init(host: String(host), port: port)
    }

    /// Parses a comma-separated list, `host:port,host:port`.
    /// - Throws: `.invalidArgument` for an empty list or any bad address.
    public static func list(parsing text: String) throws -> [KafkaBrokerAddress] {
        let parts = text.split(separator: ",").filter { !$0.allSatisfy(\.isWhitespace) }
        guard !parts.isEmpty else {
            throw KafkaError(.invalidArgument, message: "no Kafka broker given; expected HOST:PORT[,HOST:PORT…]")
        }
        return try parts.map { try KafkaBrokerAddress(parsing: $0) }
    }

    public var description: String {
        self.host.contains(":") ? "[\(self.host)]:\(self.port)" : "\(self.host):\(self.port)"
    }
}
