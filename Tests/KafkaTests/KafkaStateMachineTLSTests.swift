import NIOCore
import Testing

@testable import Kafka

/// A failed TLS handshake closes the connection; its callers must see `.tlsFailed`, not a retriable close.
@Suite struct KafkaStateMachineTLSTests {
    private let start = NIODeadline.uptimeNanoseconds(1_000_000_000)

    @Test func aTLSFailureReachesPendingAndLaterRequests() {
        var machine = KafkaChannelHandler.StateMachine<Int>()
        machine.channelActive()
        _ = machine.send(correlationID: 1, headerVersion: 0, promise: 1, deadline: self.start + .seconds(5))
        let reason = KafkaError(.tlsFailed, message: "CERTIFICATE_VERIFY_FAILED")
        guard case .close(let failures, let error) = machine.errorCaught(reason) else {
            Issue.record("expected a close")
            return
        }
        #expect(error == reason)
        #expect(failures.map(\.error.code) == [.tlsFailed])
        guard case .fail(2, let later) = machine.send(correlationID: 2, headerVersion: 0, promise: 2, deadline: self.start) else {
            Issue.record("expected the send to fail")
            return
        }
        #expect(later.code == .tlsFailed)
    }

    @Test func afterOtherErrorsLaterRequestsFailAsClosed() {
        var machine = KafkaChannelHandler.StateMachine<Int>()
        machine.channelActive()
        _ = machine.errorCaught(KafkaError(.protocolError, message: "x"))
        guard case .fail(1, let later) = machine.send(correlationID: 1, headerVersion: 0, promise: 1, deadline: self.start) else {
            Issue.record("expected the send to fail")
            return
        }
        #expect(later.code == .connectionClosed)
    }
}
