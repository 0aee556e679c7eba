extension SoldOutFastPathHandler {
    /// One connection's requests, as the fast path sees them: whether a request may be answered
    /// here, and whether an answer written here could overtake one Hummingbird still owes.
    /// Plain values and actions, no I/O, so it is tested without sockets.
    struct StateMachine: Equatable {
        enum State: Equatable {
            /// Between requests.
            case idle
            /// A request's head was kept here: its end brings the answer.
            case answering
            /// A request goes to Hummingbird, part by part.
            case forwarding
        }

        private(set) var state = State.idle
        /// Requests handed to Hummingbird whose answer has not been written to its end yet.
        private(set) var owed = 0

        enum HeadAction: Equatable {
            /// The fast path may answer it, if it can (then ``answerChosen()``, else ``forwardChosen()``).
            case consider
            /// Hand it on: an earlier answer is still owed, so one written here would overtake it.
            case forward
        }

        enum PartAction: Equatable {
            case forward
            /// A body part of a request answered here: dropped.
            case drop
            /// The end of a request answered here: write the answer now.
            case answer
        }

        mutating func headReceived() -> HeadAction {
            guard self.state == .idle, self.owed == 0 else {
                self.forwardChosen()
                return .forward
            }
            return .consider
        }

        mutating func answerChosen() {
            self.state = .answering
        }

        mutating func forwardChosen() {
            self.owed += 1
            self.state = .forwarding
        }

        mutating func bodyReceived() -> PartAction {
            self.state == .answering ? .drop : .forward
        }

        mutating func endReceived() -> PartAction {
            switch self.state {
            case .answering:
                self.state = .idle
                return .answer
            case .forwarding, .idle:
                self.state = .idle
                return .forward
            }
        }

        /// Hummingbird wrote the end of an answer it owed.
        mutating func responseEndWritten() {
            self.owed = max(0, self.owed - 1)
        }
    }
}
