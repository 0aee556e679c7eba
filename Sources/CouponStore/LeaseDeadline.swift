import NIOCore
import PostgresNIO
import Synchronization

/// What one store call holds when its deadline passes, so the deadline can undo it.
///
/// A call either still waits for a pooled connection (cancelling its task withdraws the request)
/// or runs queries on one. A query already sent cannot be cancelled in postgres-nio, so the
/// deadline closes that connection instead: the query fails at once and the server rolls back
/// the open transaction.
final class LeaseDeadline: Sendable {
    private enum State {
        case waiting
        case leased(PostgresConnection)
        case idle
        case expired
    }

    private let state = Mutex(State.waiting)

    /// Records the leased connection; `false` when the deadline has passed already and the call must not start.
    func begin(_ connection: PostgresConnection) -> Bool {
        self.state.withLock { state in
            switch state {
            case .expired:
                return false
            case .waiting, .leased, .idle:
                state = .leased(connection)
                return true
            }
        }
    }

    /// The call is done with its connection.
    func end() {
        self.state.withLock { state in
            switch state {
            case .leased:
                state = .idle
            case .waiting, .idle, .expired:
                break
            }
        }
    }

    /// The deadline passed: closes the connection in use, if any.
    ///
    /// - Returns: Whether a connection was in use (the call had reached the server).
    func expire() -> Bool {
        let connection: PostgresConnection? = self.state.withLock { state in
            defer { state = .expired }
            if case .leased(let connection) = state { return connection }
            return nil
        }
        guard let connection else { return false }
        // Closes the channel at once (not gracefully), which fails the pending query.
        let _: EventLoopFuture<Void> = connection.close()
        return true
    }
}
