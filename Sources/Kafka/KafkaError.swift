/// An error thrown by the Kafka client.
///
/// `code` says what went wrong; `message` says it in words (naming the field, API or broker error involved).
/// Codes are static members backed by a private enum, so adding one never breaks a caller's `switch`.
public struct KafkaError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What kind of failure this is.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Base: String, Sendable, Hashable {
            case connectionClosed
            case timeout
            case protocolError
            case corruptRecord
            case unsupportedCompression
            case unsupportedVersion
            case brokerError
            case invalidArgument
            case cancelled
            case authenticationFailed
            case tlsFailed
        }

        private let base: Base

        private init(_ base: Base) {
            self.base = base
        }

        /// The connection closed (or was closed, or could not be opened) before the response arrived.
        public static var connectionClosed: Self { .init(.connectionClosed) }
        /// No response within the request's deadline; the connection it was sent on is closed.
        public static var timeout: Self { .init(.timeout) }
        /// The broker sent bytes that are not a valid Kafka message, or a response nobody asked for.
        public static var protocolError: Self { .init(.protocolError) }
        /// A record batch failed its CRC-32C check or its layout is inconsistent.
        public static var corruptRecord: Self { .init(.corruptRecord) }
        /// A record batch uses a compression codec this client cannot decode.
        public static var unsupportedCompression: Self { .init(.unsupportedCompression) }
        /// The broker supports no version of an API that this client speaks.
        public static var unsupportedVersion: Self { .init(.unsupportedVersion) }
        /// The broker answered with a non-zero error code; `message` names it.
        public static var brokerError: Self { .init(.brokerError) }
        /// A value given to the client cannot be encoded (e.g. a string longer than the protocol allows).
        public static var invalidArgument: Self { .init(.invalidArgument) }
        /// The calling task was cancelled while it waited for the response.
        public static var cancelled: Self { .init(.cancelled) }
        /// SASL authentication failed: wrong password, unknown user, or a mechanism the broker does not offer.
        /// Not retriable: the same credentials fail the same way, so a caller must not retry silently.
        public static var authenticationFailed: Self { .init(.authenticationFailed) }
        /// The TLS handshake with the broker failed (e.g. its certificate is not trusted, or it does not speak TLS).
        /// Not retriable, for the same reason.
        public static var tlsFailed: Self { .init(.tlsFailed) }

        public var description: String { self.base.rawValue }
    }

    /// What kind of failure this is.
    public let code: Code
    /// The failure in words.
    public let message: String

    /// The broker's error code, for `.brokerError`: what decides whether a retry may succeed.
    let brokerCode: KafkaErrorCode?

    /// Creates an error of kind `code` described by `message`.
    public init(_ code: Code, message: String) {
        self.code = code
        self.message = message
        self.brokerCode = nil
    }

    init(_ code: Code, message: String, brokerCode: KafkaErrorCode?) {
        self.code = code
        self.message = message
        self.brokerCode = brokerCode
    }

    /// The broker says the topic (or partition) does not exist — e.g. a broker without persistent
    /// storage that restarted.
    public var isUnknownTopic: Bool {
        self.brokerCode == .unknownTopicOrPartition
    }

    /// Whether the same call may succeed later: the connection failed or timed out, or the broker
    /// answered with a retriable code (a leader moved, a replica is behind).
    public var isRetriable: Bool {
        switch self.code {
        case .connectionClosed, .timeout: true
        case .brokerError: self.brokerCode?.isRetriable ?? false
        default: false
        }
    }

    /// The broker refused the credentials or the TLS handshake failed: the same settings fail again
    /// on every broker of the cluster, so the caller should stop and say why rather than retry.
    public var isSecurityFailure: Bool {
        self.code == .authenticationFailed || self.code == .tlsFailed
    }

    public var description: String {
        "KafkaError.\(self.code): \(self.message)"
    }
}
