import NIOCore
import NIOPosix
import Synchronization

/// A small pool of blocking connections, opened on demand, handed out one caller at a time.
///
/// Connecting, pinging and closing run on the store's `NIOThreadPool`. A caller that finds every
/// connection in use waits in line until one comes back or its deadline passes (a timer on an event
/// loop resumes it; no task is spawned), so a stuck server makes callers fail in time, never hang.
final class MySQLConnectionPool: Sendable {
    /// What a waiter is given: a connection, or the right to open one (a slot freed by a broken connection).
    private enum Grant: Sendable {
        case connection(MySQLConnection)
        case open
    }

    private struct Waiter {
        var id: Int
        var continuation: CheckedContinuation<Grant, any Error>
        var timer: Scheduled<Void>?
    }

    private struct State {
        var idle: [MySQLConnection] = []
        /// Connections open or being opened, leased or idle.
        var count = 0
        var waiters: [Waiter] = []
        var nextID = 0
        var isClosed = false
    }

    /// Why a lease failed without a server error.
    enum LeaseFailure: Error {
        case timedOut
        case closed
    }

    /// An idle connection older than this is pinged before it is handed out: the server may have
    /// restarted or closed it (wait_timeout) meanwhile.
    static let pingAfterIdle: Duration = .seconds(5)

    let maximum: Int
    private let state = Mutex(State())
    private let threadPool: NIOThreadPool
    private let eventLoop: any EventLoop
    private let connect: @Sendable () throws -> MySQLConnection

    init(maximum: Int, threadPool: NIOThreadPool, eventLoop: any EventLoop, connect: @escaping @Sendable () throws -> MySQLConnection) {
        self.maximum = max(1, maximum)
        self.threadPool = threadPool
        self.eventLoop = eventLoop
        self.connect = connect
    }

    /// A connection for the caller alone, until ``release(_:)``.
    ///
    /// - Throws: ``LeaseFailure`` when `deadline` passes first or the pool is closed, a ``MySQLError``
    ///   when opening a connection fails (server down, wrong password…), `CancellationError`.
    func lease(deadline: NIODeadline) async throws -> MySQLConnection {
        switch try await self.grant(deadline: deadline) {
        case .connection(let connection):
            guard ContinuousClock.now - connection.idleSince > Self.pingAfterIdle else { return connection }
            do {
                try await self.threadPool.runIfActive { try connection.ping() }
                return connection
            } catch {
                // Gone while idle: close it, and open another in its slot.
                self.close(connection)
                return try await self.open()
            }
        case .open:
            return try await self.open()
        }
    }

    /// Hands a leased connection back; a broken one is closed and its slot offered to the next waiter.
    func release(_ connection: MySQLConnection) {
        connection.idleSince = .now
        let action: (waiter: Waiter?, grant: Grant?, close: Bool) = self.state.withLock { state in
            if state.isClosed || connection.isBroken {
                state.count -= 1
                guard !state.isClosed, !state.waiters.isEmpty else { return (nil, nil, true) }
                state.count += 1
                return (state.waiters.removeFirst(), .open, true)
            }
            guard !state.waiters.isEmpty else {
                state.idle.append(connection)
                return (nil, nil, false)
            }
            return (state.waiters.removeFirst(), .connection(connection), false)
        }
        if action.close { self.close(connection) }
        if let waiter = action.waiter, let grant = action.grant {
            waiter.timer?.cancel()
            waiter.continuation.resume(returning: grant)
        }
    }

    /// Fails the waiters and closes idle connections; leased ones are closed as they come back.
    func shutdown() {
        let (idle, waiters) = self.state.withLock { state in
            state.isClosed = true
            defer {
                state.count -= state.idle.count
                state.idle.removeAll()
                state.waiters.removeAll()
            }
            return (state.idle, state.waiters)
        }
        for waiter in waiters {
            waiter.timer?.cancel()
            waiter.continuation.resume(throwing: LeaseFailure.closed)
        }
        for connection in idle { self.close(connection) }
    }

    // MARK: Internals

    private func grant(deadline: NIODeadline) async throws -> Grant {
        let immediate: Grant?? = self.state.withLock { state in
            if state.isClosed { return .some(nil) }
            if let connection = state.idle.popLast() { return .connection(connection) }
            if state.count < self.maximum {
                state.count += 1
                return .open
            }
            return nil
        }
        switch immediate {
        case .some(.some(let grant)): return grant
        case .some(.none): throw LeaseFailure.closed
        case .none: break
        }
        let id = self.state.withLock { state in
            defer { state.nextID += 1 }
            return state.nextID
        }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Grant, any Error>) in
                let grant: Grant? = self.state.withLock { state in
                    // Something may have come back since the first look.
                    if let connection = state.idle.popLast() { return .connection(connection) }
                    if state.count < self.maximum {
                        state.count += 1
                        return .open
                    }
                    state.waiters.append(Waiter(id: id, continuation: continuation, timer: nil))
                    return nil
                }
                if let grant {
                    continuation.resume(returning: grant)
                    return
                }
                let timer = self.eventLoop.scheduleTask(deadline: deadline) {
                    self.withdraw(id, with: LeaseFailure.timedOut)
                }
                let stillWaiting = self.state.withLock { state in
                    guard let index = state.waiters.firstIndex(where: { $0.id == id }) else { return false }
                    state.waiters[index].timer = timer
                    return true
                }
                if !stillWaiting { timer.cancel() }
                if Task.isCancelled { self.withdraw(id, with: CancellationError()) }
            }
        } onCancel: {
            self.withdraw(id, with: CancellationError())
        }
    }

    /// Removes a waiter that is still in line and fails it with `error`.
    private func withdraw(_ id: Int, with error: any Error) {
        let waiter: Waiter? = self.state.withLock { state in
            guard let index = state.waiters.firstIndex(where: { $0.id == id }) else { return nil }
            return state.waiters.remove(at: index)
        }
        guard let waiter else { return }
        waiter.timer?.cancel()
        waiter.continuation.resume(throwing: error)
    }

    /// Opens a connection in a slot already counted; gives the slot back if that fails.
    private func open() async throws -> MySQLConnection {
        do {
            let connect = self.connect
            return try await self.threadPool.runIfActive { try connect() }
        } catch {
            let waiter: Waiter? = self.state.withLock { state in
                guard !state.isClosed, !state.waiters.isEmpty else {
                    state.count -= 1
                    return nil
                }
                return state.waiters.removeFirst()
            }
            if let waiter {
                // The next caller tries for itself: the server may be back by then.
                waiter.timer?.cancel()
                waiter.continuation.resume(returning: .open)
            }
            throw error
        }
    }

    /// Closes a connection on the thread pool (`mysql_close` may write to the socket).
    private func close(_ connection: MySQLConnection) {
        connection.markBroken()
        self.threadPool.submit { _ in
            _ = connection  // released here, off the caller's thread: deinit calls mysql_close
        }
    }
}
