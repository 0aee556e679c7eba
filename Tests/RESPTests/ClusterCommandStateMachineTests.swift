import Testing

@testable import RESP

/// The decisions after each failed attempt at a cluster command, with no node and no socket.
@Suite struct ClusterCommandStateMachineTests {
    typealias Machine = ClusterCommandStateMachine

    let start = ContinuousClock.now
    let limits = Machine.Limits(
        maximumRedirections: 5,
        retryDelay: (initial: .milliseconds(10), maximum: .milliseconds(40)),
        commandTimeout: .seconds(1)
    )
    let slot = HashSlot(key: "foo")  // 12182
    let nodeB = RedisConfiguration.Endpoint.tcp(host: "127.0.0.1", port: 7002)

    func machine() -> Machine {
        Machine(command: "GET", slot: self.slot, limits: self.limits, start: self.start)
    }

    func redirection(_ text: String) -> ClusterRedirection {
        ClusterRedirection(errorMessage: text, replyingHost: "10.0.0.1") ?? .retryLater(.tryAgain, message: "unparsed: \(text)")
    }

    @Test func redirectionsAreReadFromErrorReplies() {
        #expect(ClusterRedirection(errorMessage: "MOVED 12182 127.0.0.1:7002", replyingHost: "x") == .moved(self.slot, to: self.nodeB))
        #expect(ClusterRedirection(errorMessage: "ASK 12182 127.0.0.1:7002", replyingHost: "x") == .ask(self.slot, to: self.nodeB))
        // No host: the node that answered. IPv6 hosts are not bracketed.
        #expect(
            ClusterRedirection(errorMessage: "MOVED 1 :7002", replyingHost: "10.0.0.1")
                == .moved(HashSlot(rawValue: 1) ?? self.slot, to: .tcp(host: "10.0.0.1", port: 7002))
        )
        #expect(
            ClusterRedirection(errorMessage: "MOVED 1 ::1:7002", replyingHost: "x")
                == .moved(HashSlot(rawValue: 1) ?? self.slot, to: .tcp(host: "::1", port: 7002))
        )
        #expect(
            ClusterRedirection(errorMessage: "CLUSTERDOWN Hash slot not served", replyingHost: "x")
                == .retryLater(.clusterDown, message: "CLUSTERDOWN Hash slot not served")
        )
        #expect(ClusterRedirection(errorMessage: "TRYAGAIN Multiple keys request during rehashing of slot", replyingHost: "x") != nil)
        #expect(ClusterRedirection(errorMessage: "LOADING Redis is loading the dataset in memory", replyingHost: "x") != nil)
        // Any other error is the caller's.
        for text in [
            "NOSCRIPT No matching script.", "ERR wrong number of arguments", "MOVED 16384 h:1", "MOVED x h:1", "ASK 1 h", "MOVED 1 h:0",
            "CROSSSLOT Keys in request don't hash to the same slot", "",
        ] {
            #expect(ClusterRedirection(errorMessage: text, replyingHost: "x") == nil, "\(text)")
        }
    }

    @Test func movedAndAskAreFollowedAtOnce() {
        var machine = self.machine()
        #expect(machine.refused(self.redirection("MOVED 12182 127.0.0.1:7002"), now: self.start) == .moved(self.slot, to: self.nodeB))
        #expect(machine.refused(self.redirection("ASK 12182 127.0.0.1:7002"), now: self.start) == .ask(self.nodeB))
        #expect(machine.redirections == 2)
    }

    @Test func refusalsAndUnsentCommandsPauseWithBackoff() {
        var machine = self.machine()
        #expect(
            machine.refused(self.redirection("TRYAGAIN Multiple keys"), now: self.start) == .retry(after: .milliseconds(10), refreshingMap: false)
        )
        #expect(
            machine.refused(self.redirection("CLUSTERDOWN The cluster is down"), now: self.start)
                == .retry(after: .milliseconds(20), refreshingMap: true)
        )
        #expect(machine.notSent("no connection to 127.0.0.1:7002 is up", now: self.start) == .retry(after: .milliseconds(40), refreshingMap: true))
        // Capped at the maximum.
        #expect(
            machine.refused(self.redirection("LOADING Redis is loading"), now: self.start) == .retry(after: .milliseconds(40), refreshingMap: false)
        )
    }

    @Test func givesUpAfterTheBoundNamingTheSlotAndTheCause() {
        var machine = self.machine()
        for _ in 0..<5 {
            #expect(machine.refused(self.redirection("MOVED 12182 127.0.0.1:7002"), now: self.start) == .moved(self.slot, to: self.nodeB))
        }
        let action = machine.refused(self.redirection("CLUSTERDOWN Hash slot not served"), now: self.start)
        #expect(
            action
                == .fail(
                    RedisClientError(
                        .unavailable,
                        message: "gave up on GET (slot 12182) after 6 attempts: no master owns slot 12182 (CLUSTERDOWN Hash slot not served)"
                    )
                )
        )
    }

    @Test func noRedirectionsAllowedMeansTheFirstRefusalIsFinal() {
        var limits = self.limits
        limits.maximumRedirections = 0
        var machine = Machine(command: "TIME", slot: nil, limits: limits, start: self.start)
        guard case .fail(let error) = machine.refused(self.redirection("CLUSTERDOWN The cluster is down"), now: self.start) else {
            Issue.record("no redirection is allowed")
            return
        }
        #expect(error.message == "gave up on TIME after 1 attempt: the cluster is down (CLUSTERDOWN The cluster is down)")
    }

    @Test func everythingStaysWithinTheDeadline() {
        var machine = self.machine()
        // 950 ms in, with 10% of the deadline as the least an attempt needs: no time for another.
        #expect(machine.maySend(now: self.start + .milliseconds(900)))
        #expect(!machine.maySend(now: self.start + .milliseconds(901)))
        let late = self.start + .milliseconds(950)
        #expect(
            machine.refused(self.redirection("MOVED 12182 127.0.0.1:7002"), now: late)
                == .fail(
                    RedisClientError(
                        .unavailable,
                        message: "gave up on GET (slot 12182) at its 1000 ms deadline after 1 attempt: slot 12182 moved to 127.0.0.1:7002"
                    )
                )
        )
        // A pause is shortened to leave room for one more attempt.
        var other = self.machine()
        #expect(other.notSent("down", now: self.start + .milliseconds(895)) == .retry(after: .milliseconds(5), refreshingMap: true))
        #expect(other.remaining(now: self.start + .milliseconds(900)) == .milliseconds(100))
        if case .fail(let error) = other.notSent("still down", now: self.start + .milliseconds(920)) {
            #expect(error.code == .unavailable)
            #expect(error.message.hasSuffix("deadline after 2 attempts: still down"), "\(error.message)")
        } else {
            Issue.record("past the deadline the command must be given up")
        }
        #expect(other.deadlineError().message.contains("at its 1000 ms deadline"))
    }
}
