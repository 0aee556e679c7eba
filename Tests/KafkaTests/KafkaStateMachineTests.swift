import NIOCore
import Testing

@testable import Kafka

private typealias Machine = KafkaChannelHandler.StateMachine<Int>

private let start = NIODeadline.uptimeNanoseconds(1_000_000_000)

private func active() -> Machine {
    var machine = Machine()
    machine.channelActive()
    return machine
}

@Suite struct KafkaStateMachineTests {
    @Test func requestsBeforeActivationFail() {
        var machine = Machine()
        guard case .fail(1, let error) = machine.send(correlationID: 1, headerVersion: 0, promise: 1, deadline: start) else {
            Issue.record("expected the send to fail")
            return
        }
        #expect(error.code == .connectionClosed)
        #expect(machine.pendingCount == 0)
    }

    @Test func oneTimerServesTheQueueAndMovesOnlyEarlier() {
        var machine = active()
        #expect(
            machine.send(correlationID: 1, headerVersion: 0, promise: 1, deadline: start + .seconds(5))
                == .write(scheduleTimerAt: start + .seconds(5))
        )
        #expect(machine.send(correlationID: 2, headerVersion: 0, promise: 2, deadline: start + .seconds(9)) == .write(scheduleTimerAt: nil))
        #expect(
            machine.send(correlationID: 3, headerVersion: 1, promise: 3, deadline: start + .seconds(2))
                == .write(scheduleTimerAt: start + .seconds(2))
        )
        #expect(machine.pendingCount == 3)
    }

    @Test func responsesAreMatchedInOrderWithTheirHeaderVersion() {
        var machine = active()
        _ = machine.send(correlationID: 7, headerVersion: 1, promise: 70, deadline: start + .seconds(5))
        _ = machine.send(correlationID: 8, headerVersion: 0, promise: 80, deadline: start + .seconds(5))
        #expect(machine.receivedResponse(correlationID: 7) == .succeed(70, headerVersion: 1))
        #expect(machine.receivedResponse(correlationID: 8) == .succeed(80, headerVersion: 0))
        #expect(machine.pendingCount == 0)
    }

    @Test func aResponseOutOfOrderClosesAndFailsEverything() {
        var machine = active()
        _ = machine.send(correlationID: 1, headerVersion: 0, promise: 10, deadline: start + .seconds(5))
        _ = machine.send(correlationID: 2, headerVersion: 0, promise: 20, deadline: start + .seconds(5))
        guard case .close(let failures, let error) = machine.receivedResponse(correlationID: 2) else {
            Issue.record("expected a close")
            return
        }
        #expect(error.code == .protocolError)
        #expect(error.message == "received a response for correlation id 2, but the oldest request has 1")
        #expect(failures.map(\.promise) == [10, 20])
        #expect(machine.receivedResponse(correlationID: 1) == .none)
    }

    @Test func anUnaskedResponseIsAProtocolError() {
        var machine = active()
        guard case .close(let failures, let error) = machine.receivedResponse(correlationID: 4) else {
            Issue.record("expected a close")
            return
        }
        #expect(failures.isEmpty)
        #expect(error.message.contains("no request is waiting"))
    }

    @Test func deadlineFailsExpiredRequestsWithTimeoutAndOthersAsCollateral() {
        var machine = active()
        _ = machine.send(correlationID: 1, headerVersion: 0, promise: 10, deadline: start + .seconds(1))
        _ = machine.send(correlationID: 2, headerVersion: 0, promise: 20, deadline: start + .seconds(10))
        // The timer fired early (a rescheduled one): nothing has expired yet.
        #expect(machine.deadlineReached(now: start) == .scheduleTimer(at: start + .seconds(1)))
        guard case .close(let failures, let error) = machine.deadlineReached(now: start + .seconds(1)) else {
            Issue.record("expected a close")
            return
        }
        #expect(error.code == .timeout)
        #expect(failures.map(\.promise) == [10, 20])
        #expect(failures.map(\.error.code) == [.timeout, .connectionClosed])
        guard case .fail(30, let later) = machine.send(correlationID: 3, headerVersion: 0, promise: 30, deadline: start + .seconds(20)) else {
            Issue.record("expected the send to fail")
            return
        }
        #expect(later.message.contains("closed"))
    }

    @Test func aCancelledRequestsResponseIsDropped() {
        var machine = active()
        _ = machine.send(correlationID: 1, headerVersion: 0, promise: 10, deadline: start + .seconds(5))
        _ = machine.send(correlationID: 2, headerVersion: 0, promise: 20, deadline: start + .seconds(5))
        guard case .fail(10, let error) = machine.cancel(correlationID: 1) else {
            Issue.record("expected the cancelled caller to fail")
            return
        }
        #expect(error.code == .cancelled)
        #expect(machine.cancel(correlationID: 1) == .none)
        #expect(machine.receivedResponse(correlationID: 1) == .drop)
        #expect(machine.receivedResponse(correlationID: 2) == .succeed(20, headerVersion: 0))
    }

    @Test func closingFailsPendingOnceAndSkipsCancelledOnes() {
        var machine = active()
        _ = machine.send(correlationID: 1, headerVersion: 0, promise: 10, deadline: start + .seconds(5))
        _ = machine.send(correlationID: 2, headerVersion: 0, promise: 20, deadline: start + .seconds(5))
        _ = machine.cancel(correlationID: 2)
        guard case .close(let failures, let error) = machine.channelInactive() else {
            Issue.record("expected a close")
            return
        }
        #expect(error.code == .connectionClosed)
        #expect(failures.map(\.promise) == [10])
        #expect(machine.channelInactive() == .none)
        #expect(machine.close() == .none)
    }
}
