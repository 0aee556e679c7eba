/// An error thrown by the Redis client.
///
/// `code` says what went wrong; `message` says it in words (for `.serverError`
/// it is the server's own error text, e.g. `NOSCRIPT No matching script. Please use EVAL.`).
/// Codes are static members backed by a private enum, so adding one never breaks a caller's `switch`.
public struct RedisClientError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What kind of failure this is.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Base: String, Sendable, Hashable {
            case connectionClosed
            case timeout
            case unavailable
            case serverError
            case protocolError
            case invalidConfiguration
            case cancelled
        }

        private let base: Base

        private init(_ base: Base) {
            self.base = base
        }

        /// The connection closed (or was closed) before the reply arrived.
        public static var connectionClosed: Self { .init(.connectionClosed) }
        /// No reply within the command's deadline; the connection it was sent on is closed and replaced.
        public static var timeout: Self { .init(.timeout) }
        /// No connection to Redis is up right now (the client does not wait for a reconnect), or a cluster client gave
        /// up redirecting the command. Either way the command was not sent, or refused unrun: it is safe to retry.
        public static var unavailable: Self { .init(.unavailable) }
        /// Redis answered with an error reply; `message` is the server's text.
        public static var serverError: Self { .init(.serverError) }
        /// The server sent bytes that are not valid RESP, or a reply nobody asked for.
        public static var protocolError: Self { .init(.protocolError) }
        /// The configuration (or configuration URL) is not usable.
        public static var invalidConfiguration: Self { .init(.invalidConfiguration) }
        /// The calling task was cancelled while it waited for the reply.
        public static var cancelled: Self { .init(.cancelled) }

        public var description: String { self.base.rawValue }
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, message: String) {
        self.code = code
        self.message = message
    }

    public var description: String {
        "RedisClientError.\(self.code): \(self.message)"
    }
}
