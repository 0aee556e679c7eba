/// SASL credentials for the brokers: the mechanism, the user and the password.
///
/// Its description names the mechanism and the user, never the password, so it can be logged.
public struct KafkaSASL: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible {
    /// A SASL mechanism this client speaks.
    public struct Mechanism: Sendable, Hashable, CustomStringConvertible {
        /// The name sent in SaslHandshake, e.g. "SCRAM-SHA-256".
        public let name: String

        private init(name: String) {
            self.name = name
        }

        /// The password in clear (RFC 4616): use it over TLS only.
        public static var plain: Self { .init(name: "PLAIN") }
        /// SCRAM with SHA-256 (RFC 5802, RFC 7677): the password never crosses the wire.
        public static var scramSHA256: Self { .init(name: "SCRAM-SHA-256") }
        /// SCRAM with SHA-512.
        public static var scramSHA512: Self { .init(name: "SCRAM-SHA-512") }

        /// The mechanism named `name` ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", any case), e.g. from a
        /// command-line flag; nil for one this client does not speak.
        public init?(named name: String) {
            guard let known = [Self.plain, .scramSHA256, .scramSHA512].first(where: { $0.name == name.uppercased() }) else {
                return nil
            }
            self = known
        }

        public var description: String { self.name }
    }

    public var mechanism: Mechanism
    public var username: String
    public var password: String

    public init(mechanism: Mechanism, username: String, password: String) {
        self.mechanism = mechanism
        self.username = username
        self.password = password
    }

    public var description: String {
        "KafkaSASL(\(self.mechanism), username: \(self.username), password: <redacted>)"
    }

    public var debugDescription: String { self.description }
}
