/// `results.json`, schema `coupongate-loadtest/1` (docs/LOADTEST.md): what both
/// generators write and what the reports are rendered from.
public struct LoadResults: Codable, Sendable {
    public static let schemaName = "coupongate-loadtest/1"

    public var schema = LoadResults.schemaName
    public var generator: String
    public var target: String
    public var path: String
    public var startedAt: String
    /// The stack `loadtest --stack` started (absent for --url, the embedded default's older files and k6).
    public var stack: StackDescription?
    public var phases: [PhaseResult]

    /// What ran behind the target: the stack's name and every process whose CPU a phase reports.
    public struct StackDescription: Codable, Sendable, Equatable {
        public var name: String
        public var processes: [String]

        public init(name: String, processes: [String]) {
            self.name = name
            self.processes = processes
        }
    }

    public init(generator: String, target: String, path: String, startedAt: String, phases: [PhaseResult]) {
        self.generator = generator
        self.target = target
        self.path = path
        self.startedAt = startedAt
        self.phases = phases
    }
}

public struct PhaseResult: Codable, Sendable {
    public struct StageEntry: Codable, Sendable, Equatable {
        public var vus: Int
        public var seconds: Double
    }

    public struct Latency: Codable, Sendable, Equatable {
        public var avg: Double?
        public var p50: Double?
        public var p95: Double?
        public var p99: Double?
        public var max: Double?
    }

    public struct Totals: Codable, Sendable {
        public var sent: Int
        public var dropped: Int?
        public var requestsPerSecond: Double
        public var latencyMs: Latency
        public var status: StatusCounts
    }

    public struct Invariants: Codable, Sendable {
        public var limit: Int?
        public var ok200: Int
        public var distinctWinners: Int
        public var issued: Int?
        /// The campaign's rows in the database of record once the pipeline drained (a stack run only).
        public var databaseRows: Int?
        /// How long after the phase's end the database took to hold every winner.
        public var drainSeconds: Double?
        /// The `kafka` stack: the campaign's events of the phase's epoch on the topic, and the distinct users they name.
        public var topicEvents: Int?
        public var topicDistinctWinners: Int?
        public var violations: [String]

        /// What the stack's pipeline held, as recorded; nil for a run without a stack.
        var pipeline: PipelineCounts? {
            self.databaseRows.map {
                PipelineCounts(
                    databaseRows: $0,
                    drainSeconds: self.drainSeconds ?? 0,
                    topicEvents: self.topicEvents,
                    topicDistinctWinners: self.topicDistinctWinners
                )
            }
        }
    }

    /// What a stack's pipeline held once it drained after a phase.
    public struct PipelineCounts: Sendable, Equatable {
        /// The campaign's rows in the database of record.
        public var databaseRows: Int
        /// How long after the phase's end the database took to hold them.
        public var drainSeconds: Double
        /// The `kafka` stack: the campaign's events of the phase's epoch on the topic.
        public var topicEvents: Int?
        /// The distinct users those events name.
        public var topicDistinctWinners: Int?

        public init(databaseRows: Int, drainSeconds: Double, topicEvents: Int? = nil, topicDistinctWinners: Int? = nil) {
            self.databaseRows = databaseRows
            self.drainSeconds = drainSeconds
            self.topicEvents = topicEvents
            self.topicDistinctWinners = topicDistinctWinners
        }
    }

    /// CPU seconds (user + system) one process of the stack used during the phase, from /proc.
    public struct ProcessSeconds: Codable, Sendable, Equatable {
        public var process: String
        public var seconds: Double

        public init(process: String, seconds: Double) {
            self.process = process
            self.seconds = seconds
        }
    }

    /// One stage's figures (the built-in generator writes these; absent in k6's results).
    public struct StageTotals: Codable, Sendable {
        public var vus: Int
        public var seconds: Double
        public var requestsPerSecond: Double
        public var latencyMs: Latency
        public var status: StatusCounts
    }

    public struct SeriesEntry: Codable, Sendable {
        public var second: Int
        public var vus: Int
        public var requests: Int
        public var latencyMs: Latency
        public var status: StatusCounts
    }

    public var name: String
    public var stages: [StageEntry]
    public var startedAt: String
    public var seconds: Double
    public var totals: Totals
    public var invariants: Invariants
    public var stageTotals: [StageTotals]?
    public var series: [SeriesEntry]
    /// Per process of the stack, in the stack's order: where the CPU went (a stack run only).
    public var cpu: [ProcessSeconds]?
}

extension PhaseResult {
    /// Builds a phase's result from its merged recording.
    public init(
        phase: LoadPhase,
        startedAt: String,
        seconds: Double,
        recorder: LoadRecorder,
        limit: Int?,
        issued: Int?
    ) {
        name = phase.name
        stages = phase.stages.map { StageEntry(vus: $0.vus, seconds: Double($0.duration.milliseconds) / 1000) }
        self.startedAt = startedAt
        self.seconds = seconds
        let answered = recorder.status.total
        totals = Totals(
            sent: recorder.sent,
            dropped: recorder.dropped == 0 ? nil : recorder.dropped,
            requestsPerSecond: seconds > 0 ? Double(answered) / seconds : 0,
            latencyMs: Latency(recorder.latency, average: true),
            status: recorder.status
        )
        stageTotals = zip(phase.stages, recorder.stages).map { stage, recorded in
            let stageSeconds = Double(stage.duration.milliseconds) / 1000
            return StageTotals(
                vus: stage.vus,
                seconds: stageSeconds,
                requestsPerSecond: Double(recorded.status.total) / stageSeconds,
                latencyMs: Latency(recorded.latency, average: true),
                status: recorded.status
            )
        }
        series = recorder.seconds.enumerated().map { index, second in
            SeriesEntry(
                second: index,
                vus: second.vus,
                requests: second.status.total,
                latencyMs: Latency(second.latency, average: false),
                status: second.status
            )
        }
        cpu = nil
        invariants = Invariants.check(
            limit: limit,
            ok200: recorder.winners.count,
            distinctWinners: Set(recorder.winners).count,
            issued: issued,
            status: recorder.status,
            sent: recorder.sent
        )
    }
}

extension PhaseResult {
    /// What the pipeline held once it drained (the database of record, the topic), and how long that
    /// took; the invariants are judged again with it.
    public mutating func recordPipeline(_ counts: PipelineCounts) {
        self.invariants = .check(
            limit: self.invariants.limit,
            ok200: self.invariants.ok200,
            distinctWinners: self.invariants.distinctWinners,
            issued: self.invariants.issued,
            status: self.totals.status,
            sent: self.totals.sent,
            pipeline: counts
        )
    }
}

extension PhaseResult.Latency {
    init(_ histogram: LatencyHistogram, average: Bool) {
        avg = average ? histogram.averageMilliseconds : nil
        p50 = histogram.milliseconds(atPercentile: 50)
        p95 = histogram.milliseconds(atPercentile: 95)
        p99 = histogram.milliseconds(atPercentile: 99)
        max = histogram.maxMilliseconds
    }
}

extension PhaseResult.Invariants {
    /// The drop's promises, checked from the clients' side: exactly `limit` 200s once the
    /// campaign sold out, each to a distinct user, matching what the server says it issued;
    /// and every request sent was answered or counted as an error.
    ///
    /// The one rule set for every results.json: the built-in generator judges a phase with it as
    /// it ends, and `coupongate loadtest report` judges any file again with it (``LoadResults/rechecked()``),
    /// so a k6 run and a built-in run are held to the same rules.
    static func check(
        limit: Int?,
        ok200: Int,
        distinctWinners distinct: Int,
        issued: Int?,
        status: StatusCounts,
        sent: Int,
        pipeline: PhaseResult.PipelineCounts? = nil
    ) -> Self {
        var violations: [String] = []
        if let limit {
            if ok200 > limit {
                violations.append("\(ok200) requests got 200 but the limit is \(limit): over-issued")
            } else if status[.soldOut422] > 0, ok200 < limit, status.errors == 0 {
                // With no errors every winner heard its 200, so "sold out" means all were handed out.
                violations.append("clients were told 'sold out' but only \(ok200) of \(limit) got 200")
            }
        }
        if distinct != ok200 {
            violations.append("\(ok200) answers were 200 but only \(distinct) distinct users won: a duplicate")
        }
        if let issued, issued != ok200 {
            violations.append("the server reports \(issued) issued but clients got \(ok200) 200s")
        }
        if status.total != sent {
            violations.append("\(sent) requests were sent but \(status.total) were counted")
        }
        if let rows = pipeline?.databaseRows, rows != ok200 {
            violations.append("the database of record holds \(rows) coupons but clients got \(ok200) 200s")
        }
        if let events = pipeline?.topicEvents {
            if events != ok200 {
                violations.append("the topic holds \(events) events of the campaign's epoch but clients got \(ok200) 200s")
            }
            if let users = pipeline?.topicDistinctWinners, users != events {
                violations.append("the topic's \(events) events name only \(users) distinct users: a duplicate event")
            }
        }
        return Self(
            limit: limit,
            ok200: ok200,
            distinctWinners: distinct,
            issued: issued,
            databaseRows: pipeline?.databaseRows,
            drainSeconds: pipeline?.drainSeconds,
            topicEvents: pipeline?.topicEvents,
            topicDistinctWinners: pipeline?.topicDistinctWinners,
            violations: violations
        )
    }
}

extension LoadResults {
    /// The same results with every phase's invariants judged again from its recorded counts
    /// (limit, 200s, distinct winners, issued, sent, status counts), whatever `violations`
    /// the producer wrote.
    public func rechecked() -> LoadResults {
        var results = self
        for index in results.phases.indices {
            let phase = results.phases[index]
            results.phases[index].invariants = .check(
                limit: phase.invariants.limit,
                ok200: phase.invariants.ok200,
                distinctWinners: phase.invariants.distinctWinners,
                issued: phase.invariants.issued,
                status: phase.totals.status,
                sent: phase.totals.sent,
                pipeline: phase.invariants.pipeline
            )
        }
        return results
    }
}
