import Synchronization

/// A store call's deadline on its leased connection: when it fires first, the connection is cut
/// (``MySQLConnection/interrupt()``), which fails the blocking call in progress at once.
///
/// Once the call has finished, firing does nothing, so a late timer never cuts a connection that is
/// back in the pool or leased to someone else.
final class MySQLInterrupt: Sendable {
    private enum State {
        case running
        case fired
        case finished
    }

    private let connection: MySQLConnection
    private let state = Mutex(State.running)

    init(_ connection: MySQLConnection) {
        self.connection = connection
    }

    /// The deadline passed.
    func fire() {
        self.state.withLock { state in
            guard case .running = state else { return }
            state = .fired
            // Under the lock, so `finish()` cannot return before the socket is shut.
            self.connection.interrupt()
        }
    }

    /// The call is over. - Returns: Whether the deadline had fired (the connection was cut).
    func finish() -> Bool {
        self.state.withLock { state in
            defer { state = .finished }
            if case .fired = state { return true }
            return false
        }
    }
}
