import NIOCore
import NIOPosix

/// Runs one event loop's share of a phase: opens and retires virtual users to follow the
/// stages, sends each one's next request as soon as its answer arrives (closed model) or on
/// the schedule (open model), records every outcome, and enforces the request timeout.
/// Everything here runs on `loop`; nothing is shared across threads until the phase ends.
final class LoopDriver {
    struct Settings: Sendable {
        var target: LoadTarget
        /// More instances of the same service: each new connection goes to the next of `target` and
        /// these, so the virtual users spread evenly over them.
        var instances: [LoadTarget] = []
        var schedule: StageSchedule
        /// Requests per second for this loop; nil for the closed model.
        var rate: Double?
        var requestTimeout: Int64
        var connectTimeout: TimeAmount
        /// Most requests this loop may send.
        var budget: Int
        var loopIndex: Int
        var loopCount: Int
        /// The first user id of this phase; ids are unique across loops and requests.
        var firstUser: Int64
    }

    let loop: any EventLoop
    let settings: Settings
    let request: ApplyRequest
    private(set) var recorder: LoadRecorder
    private var users: [ObjectIdentifier: VirtualUser] = [:]
    private var connecting = 0
    private var nextUserOrdinal: Int64 = 0
    private var budget: Int
    private var openSchedule: OpenLoopSchedule?
    private var idle: [VirtualUser] = []
    private var ticker: RepeatedTask?
    private var stopping = false
    private var stopDeadline: Int64 = 0
    private let start: Int64
    private let finished: EventLoopPromise<LoadRecorder>
    private var lastSweep: Int64 = 0
    private var done = false
    /// After a refused connect, wait before the next so a dead target is not hammered.
    private var connectBackoffUntil: Int64 = 0
    /// Connections opened so far, to pick the instance of the next.
    private var connectionsOpened = 0

    init(loop: any EventLoop, settings: Settings, start: Int64) {
        self.loop = loop
        self.settings = settings
        self.start = start
        request = ApplyRequest(target: settings.target)
        recorder = LoadRecorder(startNanoseconds: start, stageEnds: settings.schedule.ends)
        budget = settings.budget
        if let rate = settings.rate { openSchedule = OpenLoopSchedule(rate: rate, start: start) }
        finished = loop.makePromise()
    }

    static func now() -> Int64 { Int64(NIODeadline.now().uptimeNanoseconds) }

    /// Starts ticking; the future completes with this loop's recording once the phase is
    /// over and every request sent was answered or failed.
    func run() -> EventLoopFuture<LoadRecorder> {
        loop.assertInEventLoop()
        // The open model needs a fine clock to send on time; the closed one only follows stages.
        let period: TimeAmount = openSchedule == nil ? .milliseconds(50) : .milliseconds(1)
        let bound = NIOLoopBound(self, eventLoop: loop)
        ticker = loop.scheduleRepeatedTask(initialDelay: .zero, delay: period) { _ in
            bound.value.tick()
        }
        return finished.futureResult
    }

    /// Live figures for the progress line: totals so far and the second `second` of the phase.
    func snapshot(second: Int) -> LoadSnapshot {
        LoadSnapshot(
            answered: recorder.status.total,
            errors: recorder.status.errors,
            vus: users.count + connecting,
            second: second >= 0 && second < recorder.seconds.count ? recorder.seconds[second] : nil
        )
    }

    private var nextUser: Int64 {
        defer { nextUserOrdinal += 1 }
        return settings.firstUser + Int64(settings.loopIndex) + nextUserOrdinal * Int64(settings.loopCount)
    }

    private func tick() {
        let now = Self.now()
        if stopping {
            sweep(now: now)
            if now >= stopDeadline {
                // Whatever is still out is lost to the timeout.
                for user in users.values { user.close() }
            }
            finishIfDone()
            return
        }
        guard let target = settings.schedule.vus(atNanoseconds: now - start) else {
            beginStop(now: now)
            return
        }
        let vus = StageSchedule.share(of: target, loop: settings.loopIndex, of: settings.loopCount)
        recorder.recordVUs(vus, now: now)
        if now - lastSweep >= 50_000_000 {
            lastSweep = now
            sweep(now: now)
        }
        if openSchedule != nil {
            tickOpen(now: now, maxConnections: vus)
        } else {
            adjust(to: vus)
        }
    }

    // MARK: Closed model

    private func adjust(to vus: Int) {
        let active = users.values.filter { !$0.retiring }.count + connecting
        if active < vus, budget > 0 {
            for _ in 0..<(vus - active) { connect() }
        } else if active > vus {
            var surplus = active - vus
            for user in users.values where surplus > 0 && !user.retiring {
                user.retiring = true
                surplus -= 1
                if user.isIdle { user.close() }
            }
        }
    }

    // MARK: Open model

    private func tickOpen(now: Int64, maxConnections: Int) {
        guard var schedule = openSchedule else { return }
        let added = schedule.advance(to: now, budget: budget)
        budget -= added
        openSchedule = schedule
        dispatchQueued(now: now)
        let waiting = openSchedule?.waiting ?? 0
        let open = users.count + connecting
        if waiting > 0, open < maxConnections {
            for _ in 0..<min(waiting, maxConnections - open) { connect() }
        }
    }

    private func dispatchQueued(now: Int64) {
        while let user = idle.popLast() {
            guard user.isIdle, !user.retiring else { continue }
            guard let intended = openSchedule?.take() else {
                idle.append(user)
                return
            }
            recorder.recordSent()
            user.send(user: nextUser, intended: intended, now: now)
        }
    }

    // MARK: Connections

    private func connect() {
        guard Self.now() >= connectBackoffUntil else { return }
        connecting += 1
        let targets = [settings.target] + settings.instances
        // Loops start at different instances, so a few VUs per loop still cover all of them.
        let destination = targets[(connectionsOpened + settings.loopIndex) % targets.count]
        connectionsOpened += 1
        let user = VirtualUser(driver: self)
        let bound = NIOLoopBound(user, eventLoop: loop)
        let driverBound = NIOLoopBound(self, eventLoop: loop)
        ClientBootstrap(group: loop)
            .connectTimeout(settings.connectTimeout)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(ResponseDecoder()))
                    try channel.pipeline.syncOperations.addHandler(bound.value)
                }
            }
            .connect(host: destination.host, port: destination.port)
            .whenComplete { result in
                let driver = driverBound.value
                driver.connecting -= 1
                if case .failure = result {
                    driver.connectFailed()
                }
            }
    }

    /// A VU whose connection failed counts the request it meant to send as a network error
    /// (as k6 does); the next tick tries again.
    private func connectFailed() {
        let now = Self.now()
        connectBackoffUntil = now + 100_000_000
        if openSchedule != nil {
            // The request waiting for this connection keeps waiting in the queue; count nothing.
            finishIfDone()
            return
        }
        if !stopping, budget > 0 {
            budget -= 1
            recorder.recordSent()
            recorder.recordNetworkError(now: now)
        }
        finishIfDone()
    }

    func userConnected(_ user: VirtualUser) {
        users[ObjectIdentifier(user)] = user
        if stopping {
            user.close()
            return
        }
        sendNext(user, now: Self.now())
    }

    private func sendNext(_ user: VirtualUser, now: Int64) {
        if stopping || user.retiring {
            user.close()
            return
        }
        if openSchedule != nil {
            if let intended = openSchedule?.take() {
                recorder.recordSent()
                user.send(user: nextUser, intended: intended, now: now)
            } else {
                idle.append(user)
            }
            return
        }
        guard budget > 0 else {
            user.close()
            return
        }
        budget -= 1
        recorder.recordSent()
        user.send(user: nextUser, intended: now, now: now)
    }

    func userAnswered(_ user: VirtualUser, request: VirtualUser.InFlight, status: Int, closes: Bool) {
        let now = Self.now()
        recorder.recordAnswer(status: status, user: request.user, intended: request.intended, now: now)
        if closes {
            user.close()
        } else {
            sendNext(user, now: now)
        }
        if stopping { finishIfDone() }
    }

    func userClosed(_ user: VirtualUser, lost: VirtualUser.InFlight?) {
        users.removeValue(forKey: ObjectIdentifier(user))
        if lost != nil { recorder.recordNetworkError(now: Self.now()) }
        finishIfDone()
    }

    /// Closes connections whose request is older than the timeout; their request counts as
    /// a network error when the close lands.
    private func sweep(now: Int64) {
        for user in users.values {
            if let inFlight = user.inFlight, now - inFlight.sent > settings.requestTimeout {
                user.close()
            }
        }
    }

    // MARK: Ending

    private func beginStop(now: Int64) {
        stopping = true
        stopDeadline = now + settings.requestTimeout
        if var schedule = openSchedule {
            recorder.recordDropped(schedule.drain())
            openSchedule = schedule
        }
        for user in users.values where user.isIdle { user.close() }
        idle.removeAll()
        finishIfDone()
    }

    private func finishIfDone() {
        guard stopping, !done, users.isEmpty, connecting == 0 else { return }
        done = true
        ticker?.cancel()
        ticker = nil
        finished.succeed(recorder)
    }
}
