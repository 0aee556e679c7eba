import NIOCore
import Testing

@testable import RESP

/// The connection state machine driven by chains of events, with no channel and no socket.
/// Promises are plain strings naming the caller.
@Suite struct StateMachineTests {
    typealias Machine = RedisChannelHandler.StateMachine<String>

    let start = NIODeadline.uptimeNanoseconds(1_000_000_000)
    let second = TimeAmount.seconds(1)
    let hello = RedisCommand.hello(username: nil, password: "secret")
    let select = RedisCommand.select(database: 2)

    /// A machine past its (empty) handshake.
    func activeMachine() -> Machine {
        var machine = Machine(handshake: [])
        #expect(machine.channelActive(handshakeDeadline: self.start + self.second) == .ready)
        #expect(machine.state == .active)
        return machine
    }

    @Test func handshakeRunsBeforeCommandsAreTaken() {
        var machine = Machine(handshake: [self.hello, self.select])
        #expect(machine.state == .initialized)
        #expect(
            machine.send(id: 1, .single("early"), deadline: self.start)
                == .fail("early", RedisClientError(.unavailable, message: "the connection is not ready yet"))
        )

        #expect(
            machine.channelActive(handshakeDeadline: self.start + self.second)
                == .writeHandshake([self.hello, self.select], scheduleTimerAt: self.start + self.second)
        )
        #expect(machine.state == .handshaking)
        let during = machine.send(id: 2, .single("during"), deadline: self.start)
        #expect(during == .fail("during", RedisClientError(.unavailable, message: "the connection is not ready yet")))
        #expect(machine.receivedReply(.map([.simpleString("proto"): .integer(3)])) == .none)
        #expect(machine.receivedReply(.simpleString("OK")) == .handshakeCompleted)
        #expect(machine.state == .active)
        #expect(machine.pendingCount == 0)
    }

    @Test func handshakeErrorClosesWithTheServersMessage() {
        var machine = Machine(handshake: [self.hello, self.select])
        _ = machine.channelActive(handshakeDeadline: self.start + self.second)
        let error = RedisClientError(.serverError, message: "HELLO failed: WRONGPASS invalid username-password pair or user is disabled.")
        #expect(machine.receivedReply(.error("WRONGPASS invalid username-password pair or user is disabled.")) == .close(failing: [], error: error))
        #expect(machine.state == .closed(error))
        // The SELECT reply (NOAUTH) that follows is dropped.
        #expect(machine.receivedReply(.error("NOAUTH Authentication required.")) == .none)
    }

    @Test func handshakeTimeoutCloses() {
        var machine = Machine(handshake: [self.hello])
        _ = machine.channelActive(handshakeDeadline: self.start + self.second)
        #expect(machine.deadlineReached(now: self.start + .milliseconds(999)) == .scheduleTimer(at: self.start + self.second))
        guard case .close(let failures, let error) = machine.deadlineReached(now: self.start + self.second) else {
            Issue.record("the handshake deadline must close the connection")
            return
        }
        #expect(failures.isEmpty)
        #expect(error.code == .timeout)
        #expect(error.message.contains("HELLO"))
    }

    @Test func repliesAreMatchedInOrder() {
        var machine = self.activeMachine()
        #expect(machine.send(id: 1, .single("a"), deadline: self.start + self.second) == .write(scheduleTimerAt: self.start + self.second))
        // The timer is armed once, not per command.
        #expect(machine.send(id: 2, .single("b"), deadline: self.start + self.second) == .write(scheduleTimerAt: nil))
        #expect(machine.send(id: 3, .single("c"), deadline: self.start + self.second) == .write(scheduleTimerAt: nil))
        #expect(machine.pendingCount == 3)
        #expect(machine.receivedReply(.integer(1)) == .succeed("a", .integer(1)))
        #expect(
            machine.receivedReply(.error("WRONGTYPE Operation against a key holding the wrong kind of value"))
                == .fail("b", RedisClientError(.serverError, message: "WRONGTYPE Operation against a key holding the wrong kind of value"))
        )
        #expect(machine.receivedReply(.null) == .succeed("c", .null))
        #expect(machine.pendingCount == 0)
    }

    @Test func pipelineCollectsItsRepliesIncludingErrors() {
        var machine = self.activeMachine()
        _ = machine.send(id: 1, .pipeline("p", count: 3), deadline: self.start + self.second)
        _ = machine.send(id: 2, .single("after"), deadline: self.start + self.second)
        #expect(machine.receivedReply(.simpleString("OK")) == .none)
        #expect(machine.receivedReply(.error("ERR boom")) == .none)
        #expect(machine.receivedReply(.integer(7)) == .succeed("p", .array([.simpleString("OK"), .error("ERR boom"), .integer(7)])))
        #expect(machine.receivedReply(.integer(8)) == .succeed("after", .integer(8)))
    }

    @Test func unsolicitedReplyIsAProtocolErrorAndCloses() {
        var machine = self.activeMachine()
        guard case .close(let failures, let error) = machine.receivedReply(.simpleString("OK")) else {
            Issue.record("a reply nobody waits for must close the connection")
            return
        }
        #expect(failures.isEmpty)
        #expect(error.code == .protocolError)
        if case .fail(_, let error) = machine.send(id: 1, .single("late"), deadline: self.start) {
            // Not written, so not run: `.unavailable` tells a cluster client it may send it elsewhere.
            #expect(error.code == .unavailable)
        } else {
            Issue.record("a closed connection must refuse commands")
        }
    }

    @Test func deadlineExpiryFailsExpiredWithTimeoutAndTheRestWithConnectionClosed() {
        var machine = self.activeMachine()
        _ = machine.send(id: 1, .single("old"), deadline: self.start + self.second)
        _ = machine.send(id: 2, .pipeline("newer", count: 2), deadline: self.start + .milliseconds(1500))
        // Before the deadline: nothing expires, the timer is re-armed for the oldest command.
        #expect(machine.deadlineReached(now: self.start + .milliseconds(500)) == .scheduleTimer(at: self.start + self.second))
        // The oldest is answered; the next timer goes to the next command's deadline.
        #expect(machine.receivedReply(.integer(1)) == .succeed("old", .integer(1)))
        #expect(machine.deadlineReached(now: self.start + self.second) == .scheduleTimer(at: self.start + .milliseconds(1500)))
        _ = machine.send(id: 3, .single("newest"), deadline: self.start + .seconds(2))
        guard case .close(let failures, let error) = machine.deadlineReached(now: self.start + .milliseconds(1500)) else {
            Issue.record("an expired command must close the connection")
            return
        }
        #expect(error.code == .timeout)
        #expect(failures.map(\.promise) == ["newer", "newest"])
        #expect(failures.map(\.error.code) == [.timeout, .connectionClosed])
        #expect(machine.state == .closed(error))
        // Late replies are dropped, later deadlines do nothing.
        #expect(machine.receivedReply(.integer(2)) == .none)
        #expect(machine.deadlineReached(now: self.start + .seconds(3)) == .none)
    }

    @Test func timerIsMovedEarlierForACommandWithAnEarlierDeadline() {
        var machine = Machine(handshake: [self.hello])
        #expect(
            machine.channelActive(handshakeDeadline: self.start + self.second)
                == .writeHandshake([self.hello], scheduleTimerAt: self.start + self.second)
        )
        #expect(machine.receivedReply(.simpleString("OK")) == .handshakeCompleted)
        // The handshake's timer (1 s) is still armed; a command due in 200 ms must not wait for it.
        let due = self.start + .milliseconds(200)
        #expect(machine.send(id: 1, .single("a"), deadline: due) == .write(scheduleTimerAt: due))
        #expect(machine.send(id: 2, .single("b"), deadline: due + .milliseconds(1)) == .write(scheduleTimerAt: nil))
        guard case .close(let failures, _) = machine.deadlineReached(now: due) else {
            Issue.record("the command's deadline must close the connection")
            return
        }
        #expect(failures.map(\.error.code) == [.timeout, .connectionClosed])
    }

    @Test func aLaterCommandWithAShorterDeadlineTimesOutFirst() {
        var machine = self.activeMachine()
        // A cluster retry is sent with what is left of its deadline, earlier than the command before it.
        #expect(machine.send(id: 1, .single("old"), deadline: self.start + self.second) == .write(scheduleTimerAt: self.start + self.second))
        let retryDue = self.start + .milliseconds(300)
        #expect(machine.send(id: 2, .single("retry"), deadline: retryDue) == .write(scheduleTimerAt: retryDue))
        #expect(machine.deadlineReached(now: self.start + .milliseconds(299)) == .scheduleTimer(at: retryDue))
        guard case .close(let failures, let error) = machine.deadlineReached(now: retryDue) else {
            Issue.record("the retry's deadline must time it out")
            return
        }
        #expect(error.code == .timeout)
        #expect(failures.map(\.promise) == ["old", "retry"])
        #expect(failures.map(\.error.code) == [.connectionClosed, .timeout])
    }

    @Test func timerIsRearmedAfterTheQueueDrains() {
        var machine = self.activeMachine()
        #expect(machine.send(id: 1, .single("a"), deadline: self.start + self.second) == .write(scheduleTimerAt: self.start + self.second))
        #expect(machine.receivedReply(.integer(1)) == .succeed("a", .integer(1)))
        // The armed timer fires with nothing pending; the next command arms it again.
        #expect(machine.deadlineReached(now: self.start + self.second) == .none)
        #expect(machine.send(id: 2, .single("b"), deadline: self.start + .seconds(3)) == .write(scheduleTimerAt: self.start + .seconds(3)))
    }

    @Test func cancelledCallerIsFailedAndItsReplyDropped() {
        var machine = self.activeMachine()
        _ = machine.send(id: 1, .single("a"), deadline: self.start + self.second)
        _ = machine.send(id: 2, .pipeline("b", count: 2), deadline: self.start + self.second)
        _ = machine.send(id: 3, .single("c"), deadline: self.start + self.second)
        #expect(machine.cancel(id: 2) == .fail("b", RedisClientError(.cancelled, message: "the task waiting for the replies was cancelled")))
        #expect(machine.cancel(id: 2) == .none)
        #expect(machine.cancel(id: 99) == .none)
        #expect(machine.receivedReply(.integer(1)) == .succeed("a", .integer(1)))
        #expect(machine.receivedReply(.integer(2)) == .none)
        #expect(machine.receivedReply(.integer(3)) == .none)
        #expect(machine.receivedReply(.integer(4)) == .succeed("c", .integer(4)))
    }

    @Test func closeFailsEveryPendingCommandOnce() {
        var machine = self.activeMachine()
        _ = machine.send(id: 1, .single("a"), deadline: self.start + self.second)
        _ = machine.send(id: 2, .pipeline("b", count: 5), deadline: self.start + self.second)
        guard case .close(let failures, let error) = machine.channelInactive() else {
            Issue.record("an inactive channel must fail its commands")
            return
        }
        #expect(failures.map(\.promise) == ["a", "b"])
        #expect(failures.allSatisfy { $0.error.code == .connectionClosed })
        #expect(error.code == .connectionClosed)
        #expect(machine.close() == .none)
        #expect(machine.channelInactive() == .none)
        #expect(machine.pendingCount == 0)
    }

    @Test func protocolErrorFailsPendingWithProtocolError() {
        var machine = self.activeMachine()
        _ = machine.send(id: 1, .single("a"), deadline: self.start + self.second)
        let error = RedisClientError(.protocolError, message: "invalid RESP: unknown type byte 0x3f")
        #expect(machine.errorCaught(error) == .close(failing: [.init(promise: "a", error: error)], error: error))
    }

    @Test func clientCloseBeforeActivationClosesQuietly() {
        var machine = Machine(handshake: [self.hello])
        #expect(machine.close() == .close(failing: [], error: RedisClientError(.connectionClosed, message: "the client closed the connection")))
        #expect(machine.channelActive(handshakeDeadline: self.start) == .none)
    }
}
