import Foundation
import NIOCore
import NIOPosix

/// Runs phases against a target: resets the campaign, drives the load on every event loop
/// of its group, shows progress, and checks the invariants after each phase.
public struct LoadRunner: Sendable {
    public struct Options: Sendable {
        public var target: LoadTarget
        /// More instances of the same service (sharing its campaigns): the virtual users' connections
        /// spread over `target` and these. Admin calls go to `target`.
        public var instances: [LoadTarget] = []
        public var campaign: String
        public var adminToken: String?
        /// Reset the campaign before each phase (the seed's `redis-cli DEL`).
        public var reset = true
        /// Requests per second (open model); nil runs closed-loop VUs.
        public var rate: Double?
        public var requestTimeout: Duration = .seconds(10)
        public var connectTimeout: Duration = .seconds(5)
        /// Most requests one phase may send, whatever its stages say.
        public var maxRequests = 100_000_000

        public init(target: LoadTarget, campaign: String, adminToken: String?) {
            self.target = target
            self.campaign = campaign
            self.adminToken = adminToken
        }
    }

    let options: Options
    let group: MultiThreadedEventLoopGroup
    let progress: ProgressLine?

    public init(options: Options, group: MultiThreadedEventLoopGroup, progress: ProgressLine?) {
        self.options = options
        self.group = group
        self.progress = progress
    }

    var admin: AdminClient { AdminClient(target: options.target, token: options.adminToken, group: group) }

    /// Runs `phase`; `firstUser` keeps user ids of different phases apart.
    public func run(_ phase: LoadPhase, firstUser: Int64 = 1) async throws -> PhaseResult {
        try await admin.waitUntilReady()
        for instance in options.instances {
            try await AdminClient(target: instance, token: nil, group: group).waitUntilReady()
        }
        if options.reset { try await admin.reset(campaign: options.campaign) }
        // Without a reset the campaign may already hold coupons: judge the phase by what it added.
        let before = try? await admin.campaignFigures(options.campaign)

        let loops = Array(group.makeIterator())
        let startedAt = Date()
        let start = LoopDriver.now()
        let schedule = StageSchedule(phase.stages)
        var drivers: [NIOLoopBound<LoopDriver>] = []
        var futures: [EventLoopFuture<LoadRecorder>] = []
        for (index, loop) in loops.enumerated() {
            let settings = LoopDriver.Settings(
                target: options.target,
                instances: options.instances,
                schedule: schedule,
                rate: options.rate.map { $0 / Double(loops.count) },
                requestTimeout: options.requestTimeout.nanoseconds,
                connectTimeout: .nanoseconds(options.connectTimeout.nanoseconds),
                budget: StageSchedule.share(of: options.maxRequests, loop: index, of: loops.count),
                loopIndex: index,
                loopCount: loops.count,
                firstUser: firstUser
            )
            let (driver, future) = try await loop.submit {
                let driver = LoopDriver(loop: loop, settings: settings, start: start)
                return (NIOLoopBound(driver, eventLoop: loop), driver.run())
            }.get()
            drivers.append(driver)
            futures.append(future)
        }

        let (loopDrivers, recordings) = (drivers, futures)
        let recorder = try await withThrowingTaskGroup(of: LoadRecorder?.self) { tasks in
            tasks.addTask {
                var merged = LoadRecorder(startNanoseconds: start, stageEnds: schedule.ends)
                for future in recordings { merged.merge(try await future.get()) }
                return merged
            }
            if let progress {
                let total = Int(schedule.totalNanoseconds / 1_000_000_000)
                tasks.addTask {
                    while true {
                        try await Task.sleep(for: .seconds(1))
                        let elapsed = Int((LoopDriver.now() - start) / 1_000_000_000)
                        var snapshot = LoadSnapshot.empty
                        for driver in loopDrivers {
                            // The last whole second: the current one is still filling.
                            snapshot.add(try await driver.eventLoop.submit { driver.value.snapshot(second: elapsed - 1) }.get())
                        }
                        progress.show(ProgressLine.text(phase: phase.name, elapsed: elapsed, total: total, snapshot: snapshot), elapsed: elapsed)
                    }
                }
            }
            defer { tasks.cancelAll() }
            while let result = try await tasks.next() {
                if let result { return result }
            }
            return LoadRecorder(startNanoseconds: start, stageEnds: schedule.ends)
        }
        progress?.finish()
        let seconds = Double(LoopDriver.now() - start) / 1e9
        let after = try? await admin.campaignFigures(options.campaign)
        let issued = after.map { $0.issued - (before?.issued ?? 0) }
        let limit = before.map { $0.limit - $0.issued }
        return PhaseResult(
            phase: phase,
            startedAt: Report.timestamp(startedAt),
            seconds: seconds,
            recorder: recorder,
            limit: limit,
            issued: issued
        )
    }
}
