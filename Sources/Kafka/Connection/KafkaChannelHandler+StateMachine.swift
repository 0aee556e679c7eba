import NIOCore

extension KafkaChannelHandler {
    /// The life of one connection and its FIFO of requests awaiting responses.
    ///
    /// A plain value: each event is a mutating function that returns what to do, and the channel handler does it.
    /// Nothing here touches the network, so tests drive it with chains of events and no sockets.
    /// `Promise` is what completes a caller (an `EventLoopPromise` in the handler, anything `Equatable` in tests).
    struct StateMachine<Promise> {
        enum State: Equatable {
            /// The channel is not active yet.
            case initialized
            /// Requests are accepted and pipelined.
            case active
            /// Closed, for the reason given; every later request fails.
            case closed(KafkaError)
        }

        /// A caller's promise to fail, and with what.
        struct Failure {
            var promise: Promise
            var error: KafkaError
        }

        enum SendAction {
            /// Write the request; (re-)arm the timer when a deadline is given (none is armed, or it is armed later).
            case write(scheduleTimerAt: NIODeadline?)
            /// Do not write; fail the caller.
            case fail(Promise, KafkaError)
        }

        enum ResponseAction {
            /// Strip a response header of `headerVersion` from the frame and complete the promise with the body.
            case succeed(Promise, headerVersion: Int16)
            /// The response of a cancelled request: read and dropped.
            case drop
            /// Fail these callers and close the channel; `error` is why.
            case close(failing: [Failure], error: KafkaError)
            case none
        }

        enum DeadlineAction {
            case scheduleTimer(at: NIODeadline)
            case close(failing: [Failure], error: KafkaError)
            case none
        }

        enum CancelAction {
            case fail(Promise, KafkaError)
            case none
        }

        enum CloseAction {
            case close(failing: [Failure], error: KafkaError)
            case none
        }

        /// One entry per request written, in the order the broker answers them.
        private struct Pending {
            var correlationID: Int32
            var headerVersion: Int16
            /// Nil once the caller gave up (task cancelled): the response is still read, to keep the order.
            var promise: Promise?
            var deadline: NIODeadline
        }

        private(set) var state: State = .initialized
        private var pending = CircularBuffer<Pending>()
        /// When the armed timer fires; nil while none is armed.
        private var timerDeadline: NIODeadline?

        init() {}

        /// Number of requests written and not yet answered (cancelled ones included).
        var pendingCount: Int { self.pending.count }

        // MARK: Events

        /// Kafka needs no set-up on the wire to accept requests; ApiVersions is an ordinary request.
        mutating func channelActive() {
            if case .initialized = self.state {
                self.state = .active
            }
        }

        mutating func send(correlationID: Int32, headerVersion: Int16, promise: Promise, deadline: NIODeadline) -> SendAction {
            switch self.state {
            case .active:
                self.pending.append(Pending(correlationID: correlationID, headerVersion: headerVersion, promise: promise, deadline: deadline))
                // One timer serves the whole queue; it is moved earlier only when needed.
                if let armed = self.timerDeadline, armed <= deadline {
                    return .write(scheduleTimerAt: nil)
                }
                self.timerDeadline = deadline
                return .write(scheduleTimerAt: deadline)
            case .initialized:
                return .fail(promise, KafkaError(.connectionClosed, message: "the connection is not open yet"))
            case .closed(let reason):
                return .fail(promise, Self.collateral(reason, message: "the connection is closed (\(reason.message))"))
            }
        }

        /// A response with `correlationID` arrived. Brokers answer a connection's requests in order,
        /// so it must belong to the oldest pending request; anything else means the stream cannot be trusted.
        mutating func receivedResponse(correlationID: Int32) -> ResponseAction {
            switch self.state {
            case .active:
                break
            case .initialized:
                return self.closeAction(KafkaError(.protocolError, message: "received a response before the connection was active"))
            case .closed:
                // Frames still in the read buffer when the connection closed; their callers have been failed.
                return .none
            }
            guard let first = self.pending.first else {
                return self.closeAction(
                    KafkaError(.protocolError, message: "received a response (correlation id \(correlationID)) but no request is waiting")
                )
            }
            guard first.correlationID == correlationID else {
                return self.closeAction(
                    KafkaError(
                        .protocolError,
                        message: "received a response for correlation id \(correlationID), but the oldest request has \(first.correlationID)"
                    )
                )
            }
            self.pending.removeFirst()
            guard let promise = first.promise else {
                return .drop
            }
            return .succeed(promise, headerVersion: first.headerVersion)
        }

        /// The deadline timer fired. Responses come in order, so once any pending request has expired its
        /// response could only be matched by waiting longer: the connection is closed and replaced.
        mutating func deadlineReached(now: NIODeadline) -> DeadlineAction {
            self.timerDeadline = nil
            guard case .active = self.state, !self.pending.isEmpty else {
                return .none
            }
            let earliest = self.pending.lazy.map(\.deadline).min() ?? now
            guard earliest <= now else {
                self.timerDeadline = earliest
                return .scheduleTimer(at: earliest)
            }
            return self.closeAction(KafkaError(.timeout, message: "no response from the broker before the request's deadline"), expiredBy: now)
        }

        /// The caller of request `correlationID` was cancelled: fail it now, and drop its response when it comes.
        mutating func cancel(correlationID: Int32) -> CancelAction {
            guard let index = self.pending.firstIndex(where: { $0.correlationID == correlationID }),
                let promise = self.pending[index].promise
            else {
                return .none
            }
            self.pending[index].promise = nil
            return .fail(promise, KafkaError(.cancelled, message: "the task waiting for the response was cancelled"))
        }

        /// The client closes the connection.
        mutating func close() -> CloseAction {
            self.closeAction(KafkaError(.connectionClosed, message: "the client closed the connection"))
        }

        /// Reading failed (an invalid frame) or the channel reported an error.
        mutating func errorCaught(_ error: KafkaError) -> CloseAction {
            self.closeAction(error)
        }

        /// The channel closed, by either side.
        mutating func channelInactive() -> CloseAction {
            self.closeAction(KafkaError(.connectionClosed, message: "the connection to the broker closed"))
        }

        // MARK: Helpers

        /// Moves to `.closed(reason)` and fails everything pending: requests whose deadline passed
        /// (when `expiredBy` is given) with `reason`, the rest with `.connectionClosed` naming the reason.
        private mutating func closeAction<Action: KafkaClosingAction>(
            _ reason: KafkaError,
            expiredBy now: NIODeadline? = nil
        ) -> Action where Action.Promise == Promise {
            if case .closed = self.state {
                return .none
            }
            self.state = .closed(reason)
            self.timerDeadline = nil
            let collateral = Self.collateral(reason, message: "the connection closed: \(reason.message)")
            var failures: [Failure] = []
            failures.reserveCapacity(self.pending.count)
            while let entry = self.pending.popFirst() {
                guard let promise = entry.promise else { continue }
                let expired = now.map { entry.deadline <= $0 } ?? true
                failures.append(Failure(promise: promise, error: expired ? reason : collateral))
            }
            return .close(failing: failures, error: reason)
        }

        /// What requests caught by a close fail with: `.connectionClosed` (retriable), except after a failed
        /// TLS handshake, which a retry would repeat, so its callers see `.tlsFailed`.
        private static func collateral(_ reason: KafkaError, message: String) -> KafkaError {
            reason.code == .tlsFailed ? reason : KafkaError(.connectionClosed, message: message)
        }
    }
}

/// The actions that can close the connection, so one helper builds all of them.
private protocol KafkaClosingAction {
    associatedtype Promise
    static func close(failing: [KafkaChannelHandler.StateMachine<Promise>.Failure], error: KafkaError) -> Self
    static var none: Self { get }
}

extension KafkaChannelHandler.StateMachine.ResponseAction: KafkaClosingAction {}
extension KafkaChannelHandler.StateMachine.DeadlineAction: KafkaClosingAction {}
extension KafkaChannelHandler.StateMachine.CloseAction: KafkaClosingAction {}

// Equality, for tests that compare actions.
extension KafkaChannelHandler.StateMachine.Failure: Equatable where Promise: Equatable {}
extension KafkaChannelHandler.StateMachine.SendAction: Equatable where Promise: Equatable {}
extension KafkaChannelHandler.StateMachine.ResponseAction: Equatable where Promise: Equatable {}
extension KafkaChannelHandler.StateMachine.DeadlineAction: Equatable where Promise: Equatable {}
extension KafkaChannelHandler.StateMachine.CancelAction: Equatable where Promise: Equatable {}
extension KafkaChannelHandler.StateMachine.CloseAction: Equatable where Promise: Equatable {}
