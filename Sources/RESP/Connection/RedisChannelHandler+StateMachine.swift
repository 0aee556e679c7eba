import NIOCore

extension RedisChannelHandler {
    /// The life of one connection and its queue of commands awaiting replies.
    ///
    /// A plain value: each event is a mutating function that returns what to do, and the channel handler does it.
    /// Nothing here touches the network, so tests drive it with chains of events and no sockets.
    /// `Promise` is what completes a caller (an `EventLoopPromise` in the handler, anything `Equatable` in tests).
    struct StateMachine<Promise> {
        enum State: Equatable {
            /// The channel is not active yet.
            case initialized
            /// The set-up commands (HELLO, AUTH, SELECT) are written; callers' commands are refused until they succeed.
            case handshaking
            /// Commands are accepted and pipelined.
            case active
            /// Closed, for the reason given; every later command fails with `.connectionClosed`.
            case closed(RedisClientError)
        }

        /// What a caller is waiting for.
        enum Request {
            /// One command; an error reply fails the promise with `.serverError`.
            case single(Promise)
            /// `count` commands written together; the promise gets all replies, errors included, as one `.array`.
            case pipeline(Promise, count: Int)
        }

        /// A caller's promise to fail, and with what.
        struct Failure {
            var promise: Promise
            var error: RedisClientError
        }

        enum ChannelActiveAction {
            /// Write these commands in one go, and arm the deadline timer.
            case writeHandshake([RedisCommand], scheduleTimerAt: NIODeadline)
            /// No handshake needed: the connection is ready.
            case ready
            case none
        }

        enum SendAction {
            /// Write the command; (re-)arm the timer when a deadline is given (none is armed, or it is armed later).
            case write(scheduleTimerAt: NIODeadline?)
            /// Do not write; fail the caller.
            case fail(Promise, RedisClientError)
        }

        enum ReplyAction {
            case succeed(Promise, RESPValue)
            case fail(Promise, RedisClientError)
            /// The last handshake reply arrived: tell whoever waits for the connection that it is ready.
            case handshakeCompleted
            /// Fail these callers and close the channel; `error` is why (it also fails a pending handshake).
            case close(failing: [Failure], error: RedisClientError)
            case none
        }

        enum DeadlineAction {
            case scheduleTimer(at: NIODeadline)
            case close(failing: [Failure], error: RedisClientError)
            case none
        }

        enum CancelAction {
            case fail(Promise, RedisClientError)
            case none
        }

        enum CloseAction {
            case close(failing: [Failure], error: RedisClientError)
            case none
        }

        /// One entry per request written, in the order the replies will come.
        private struct Pending {
            enum Kind {
                case handshake(RedisCommand)
                case single(Promise)
                case pipeline(Promise, remaining: Int, replies: [RESPValue])
                /// The caller gave up (task cancelled); its `remaining` replies are read and dropped to keep the order.
                case abandoned(remaining: Int)
            }

            var id: UInt64
            var kind: Kind
            var deadline: NIODeadline
        }

        private(set) var state: State = .initialized
        private var pending = CircularBuffer<Pending>()
        private let handshake: [RedisCommand]
        /// When the armed timer fires; nil while none is armed.
        private var timerDeadline: NIODeadline?

        /// - Parameter handshake: commands to run before the connection takes callers' commands.
        init(handshake: [RedisCommand]) {
            self.handshake = handshake
        }

        /// Number of requests written and not yet answered (abandoned ones included).
        var pendingCount: Int { self.pending.count }

        // MARK: Events

        mutating func channelActive(handshakeDeadline: NIODeadline) -> ChannelActiveAction {
            switch self.state {
            case .initialized:
                guard !self.handshake.isEmpty else {
                    self.state = .active
                    return .ready
                }
                self.state = .handshaking
                for command in self.handshake {
                    self.pending.append(Pending(id: 0, kind: .handshake(command), deadline: handshakeDeadline))
                }
                self.timerDeadline = handshakeDeadline
                return .writeHandshake(self.handshake, scheduleTimerAt: handshakeDeadline)
            case .handshaking, .active, .closed:
                return .none
            }
        }

        mutating func send(id: UInt64, _ request: Request, deadline: NIODeadline) -> SendAction {
            switch self.state {
            case .active:
                switch request {
                case .single(let promise):
                    self.pending.append(Pending(id: id, kind: .single(promise), deadline: deadline))
                case .pipeline(let promise, let count):
                    self.pending.append(Pending(id: id, kind: .pipeline(promise, remaining: count, replies: []), deadline: deadline))
                }
                // One timer serves the whole queue; it is moved earlier only when needed
                // (after the handshake, it may still be armed for the longer connect timeout).
                if let armed = self.timerDeadline, armed <= deadline {
                    return .write(scheduleTimerAt: nil)
                }
                self.timerDeadline = deadline
                return .write(scheduleTimerAt: deadline)
            case .initialized, .handshaking:
                return .fail(request.promise, RedisClientError(.unavailable, message: "the connection is not ready yet"))
            case .closed(let reason):
                // `.unavailable`, as when no connection is up: the command was not written, so it did not run.
                return .fail(request.promise, RedisClientError(.unavailable, message: "the connection is closed (\(reason.message))"))
            }
        }

        mutating func receivedReply(_ value: RESPValue) -> ReplyAction {
            switch self.state {
            case .handshaking, .active:
                break
            case .initialized:
                return self.closeAction(RedisClientError(.protocolError, message: "received a reply before the connection was active"))
            case .closed:
                // Frames still in the read buffer when the connection closed; their callers have been failed.
                return .none
            }
            guard var first = self.pending.popFirst() else {
                return self.closeAction(RedisClientError(.protocolError, message: "received a reply but no command is waiting for one"))
            }
            switch first.kind {
            case .handshake(let command):
                if case .error(let message) = value {
                    // E.g. WRONGPASS from HELLO/AUTH, or an out-of-range SELECT: the connection is unusable.
                    return self.closeAction(RedisClientError(.serverError, message: "\(command.name) failed: \(message)"))
                }
                guard self.pending.isEmpty else {
                    return .none
                }
                self.state = .active
                return .handshakeCompleted

            case .single(let promise):
                if case .error(let message) = value {
                    return .fail(promise, RedisClientError(.serverError, message: message))
                }
                return .succeed(promise, value)

            case .pipeline(let promise, let remaining, var replies):
                // Drop the entry's reference first, so the append does not copy the array (O(n²) for long pipelines).
                first.kind = .abandoned(remaining: 0)
                replies.append(value)
                guard remaining > 1 else {
                    return .succeed(promise, .array(replies))
                }
                first.kind = .pipeline(promise, remaining: remaining - 1, replies: replies)
                self.pending.prepend(first)
                return .none

            case .abandoned(let remaining):
                if remaining > 1 {
                    first.kind = .abandoned(remaining: remaining - 1)
                    self.pending.prepend(first)
                }
                return .none
            }
        }

        /// The deadline timer fired. Replies come in order, so if the oldest request has expired,
        /// nothing behind it can be answered in time either, and its reply could no longer be matched:
        /// the connection is closed and replaced.
        mutating func deadlineReached(now: NIODeadline) -> DeadlineAction {
            self.timerDeadline = nil
            switch self.state {
            case .handshaking, .active:
                guard let first = self.pending.first else {
                    return .none
                }
                // Usually the oldest request has the earliest deadline, but a cluster retry may carry a shorter one;
                // whichever expires first times out, and as with any timeout the connection is replaced.
                let earliest = self.pending.lazy.map(\.deadline).min() ?? first.deadline
                guard earliest <= now else {
                    self.timerDeadline = earliest
                    return .scheduleTimer(at: earliest)
                }
                let error: RedisClientError
                if case .handshake(let command) = first.kind {
                    error = RedisClientError(.timeout, message: "no reply to \(command.name) during connection set-up before the deadline")
                } else {
                    error = RedisClientError(.timeout, message: "no reply from Redis before the command's deadline")
                }
                return self.closeAction(error, expiredBy: now)
            case .initialized, .closed:
                return .none
            }
        }

        /// The caller of request `id` was cancelled: fail it now, and drop its replies when they come.
        mutating func cancel(id: UInt64) -> CancelAction {
            guard let index = self.pending.firstIndex(where: { $0.id == id }) else {
                return .none
            }
            switch self.pending[index].kind {
            case .single(let promise):
                self.pending[index].kind = .abandoned(remaining: 1)
                return .fail(promise, RedisClientError(.cancelled, message: "the task waiting for the reply was cancelled"))
            case .pipeline(let promise, let remaining, _):
                self.pending[index].kind = .abandoned(remaining: remaining)
                return .fail(promise, RedisClientError(.cancelled, message: "the task waiting for the replies was cancelled"))
            case .handshake, .abandoned:
                return .none
            }
        }

        /// The client closes the connection (shutdown).
        mutating func close() -> CloseAction {
            self.closeAction(RedisClientError(.connectionClosed, message: "the client closed the connection"))
        }

        /// Reading failed (invalid RESP) or the channel reported an error.
        mutating func errorCaught(_ error: RedisClientError) -> CloseAction {
            self.closeAction(error)
        }

        /// The channel closed, by either side.
        mutating func channelInactive() -> CloseAction {
            self.closeAction(RedisClientError(.connectionClosed, message: "the connection to Redis closed"))
        }

        // MARK: Helpers

        /// Moves to `.closed(error)` and fails everything pending: requests whose deadline passed
        /// (when `expiredBy` is given) with `error`, the rest with `.connectionClosed` naming the reason.
        private mutating func closeAction<Action: ClosingAction>(
            _ reason: RedisClientError,
            expiredBy now: NIODeadline? = nil
        ) -> Action where Action.Promise == Promise {
            if case .closed = self.state {
                return .none
            }
            self.state = .closed(reason)
            var failures: [Failure] = []
            failures.reserveCapacity(self.pending.count)
            let collateral = RedisClientError(.connectionClosed, message: "the connection closed: \(reason.message)")
            while let entry = self.pending.popFirst() {
                let entryError = (now.map { entry.deadline <= $0 } ?? true) ? reason : collateral
                switch entry.kind {
                case .single(let promise), .pipeline(let promise, _, _):
                    failures.append(Failure(promise: promise, error: entryError))
                case .handshake, .abandoned:
                    break
                }
            }
            return .close(failing: failures, error: reason)
        }
    }
}

/// The actions that can close the connection, so one helper builds all of them.
private protocol ClosingAction {
    associatedtype Promise
    static func close(failing: [RedisChannelHandler.StateMachine<Promise>.Failure], error: RedisClientError) -> Self
    static var none: Self { get }
}

extension RedisChannelHandler.StateMachine.ReplyAction: ClosingAction {}
extension RedisChannelHandler.StateMachine.DeadlineAction: ClosingAction {}
extension RedisChannelHandler.StateMachine.CloseAction: ClosingAction {}

extension RedisChannelHandler.StateMachine.Request {
    var promise: Promise {
        switch self {
        case .single(let promise), .pipeline(let promise, _): promise
        }
    }
}

extension RedisChannelHandler.StateMachine.Request: Sendable where Promise: Sendable {}

// Equality, for tests that compare actions.
extension RedisChannelHandler.StateMachine.Failure: Equatable where Promise: Equatable {}
extension RedisChannelHandler.StateMachine.ChannelActiveAction: Equatable {}
extension RedisChannelHandler.StateMachine.SendAction: Equatable where Promise: Equatable {}
extension RedisChannelHandler.StateMachine.ReplyAction: Equatable where Promise: Equatable {}
extension RedisChannelHandler.StateMachine.DeadlineAction: Equatable where Promise: Equatable {}
extension RedisChannelHandler.StateMachine.CancelAction: Equatable where Promise: Equatable {}
extension RedisChannelHandler.StateMachine.CloseAction: Equatable where Promise: Equatable {}
