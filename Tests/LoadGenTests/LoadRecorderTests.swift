import Testing

@testable import LoadGen

@Suite struct LoadRecorderTests {
    static let second: Int64 = 1_000_000_000
    static let millisecond: Int64 = 1_000_000

    @Test func mergingLoopsEqualsRecordingEverythingInOne() {
        var whole = LoadRecorder(startNanoseconds: 0)
        var loops = [LoadRecorder(startNanoseconds: 0), LoadRecorder(startNanoseconds: 0)]
        for index in 0..<10_000 {
            let latency = Int64(index % 997 + 1) * 37_000  // 37 µs to ~37 ms
            let now = Int64(index) * 300_000  // spans 3 seconds
            let status = index < 100 ? 200 : (index % 50 == 0 ? 503 : 422)
            whole.recordSent()
            whole.recordAnswer(status: status, user: Int64(index + 1), intended: now - latency, now: now)
            loops[index % 2].recordSent()
            loops[index % 2].recordAnswer(status: status, user: Int64(index + 1), intended: now - latency, now: now)
        }
        var merged = loops[0]
        merged.merge(loops[1])
        #expect(merged.sent == 10_000)
        #expect(merged.status == whole.status)
        #expect(merged.status[.ok200] == 100 && merged.status[.server5xx] == 198)
        for percentile in [50.0, 95, 99, 99.9, 100] {
            #expect(merged.latency.milliseconds(atPercentile: percentile) == whole.latency.milliseconds(atPercentile: percentile))
        }
        #expect(merged.latency.averageMilliseconds == whole.latency.averageMilliseconds)
        #expect(merged.seconds.count == 3)
        #expect(merged.seconds.map(\.status.total) == whole.seconds.map(\.status.total))
        #expect(merged.seconds.map(\.status.total).reduce(0, +) == 10_000)
        #expect(Set(merged.winners).count == 100)
    }

    @Test func answersCountInTheStageTheyCompleteIn() {
        let ends = [Self.second, 2 * Self.second, 3 * Self.second]
        var first = LoadRecorder(startNanoseconds: 0, stageEnds: ends)
        var second = LoadRecorder(startNanoseconds: 0, stageEnds: ends)
        for index in 0..<300 {
            let now = Int64(index) * 10_000_000  // 3 s, 100 answers a second
            let latency = index / 100 == 1 ? 50 * Self.millisecond : Self.millisecond  // the middle stage is slow
            if index % 2 == 0 {
                first.recordAnswer(status: 422, user: 1, intended: now - latency, now: now)
            } else {
                second.recordAnswer(status: 422, user: 1, intended: now - latency, now: now)
            }
        }
        // The drain after the phase's end counts in the last stage.
        second.recordNetworkError(now: 4 * Self.second)
        first.merge(second)
        #expect(first.stages.map(\.status.total) == [100, 100, 101])
        #expect(first.stages[2].status[.network] == 1)
        #expect(first.stages.map { $0.latency.milliseconds(atPercentile: 99)! } == [1, 50, 1])
    }

    @Test func vusAddUpAcrossLoops() {
        var first = LoadRecorder(startNanoseconds: 0)
        var second = LoadRecorder(startNanoseconds: 0)
        first.recordVUs(5, now: 10)
        first.recordVUs(4, now: 20)  // a second keeps its highest level
        second.recordVUs(5, now: Self.second + 1)
        first.merge(second)
        #expect(first.seconds.map(\.vus) == [5, 5])
    }

    /// Coordinated omission: a server that stalls 100 ms must show up in the open model's
    /// latencies for every request that was due during the stall, not just the one that
    /// was on the wire.
    @Test func openModelCountsLatencyFromTheIntendedSendTime() {
        var schedule = OpenLoopSchedule(rate: 1000, start: 0)  // one every millisecond
        var recorder = LoadRecorder(startNanoseconds: 0)
        var budget = 1_000
        // One connection. The first request is stalled for 100 ms; meanwhile 100 more fall due.
        var now: Int64 = 0
        budget -= schedule.advance(to: now, budget: budget)
        var inFlight = schedule.take()!
        now += 100 * Self.millisecond
        budget -= schedule.advance(to: now, budget: budget)
        #expect(schedule.waiting == 100)
        recorder.recordAnswer(status: 422, user: 1, intended: inFlight, now: now)
        // Then the server is fast again: 20 µs per answer, sent back to back.
        while let next = schedule.take() {
            inFlight = next
            now += 20_000
            recorder.recordAnswer(status: 422, user: 1, intended: inFlight, now: now)
        }
        #expect(recorder.latency.count == 101)
        // The queued requests waited out the stall: half of all answers took at least 50 ms.
        #expect(recorder.latency.milliseconds(atPercentile: 50)! >= 49)
        #expect(recorder.latency.maxMilliseconds! >= 99)
        // Measured from the actual send time instead, they would all have looked like 0.02 ms.
        #expect(recorder.latency.milliseconds(atPercentile: 99)! > 90)
    }

    @Test func openScheduleKeepsItsRateAndBudget() {
        var schedule = OpenLoopSchedule(rate: 20_000, start: 1_000)
        #expect(schedule.advance(to: 1_000 + Self.second - 1, budget: .max) == 20_000)
        #expect(schedule.advance(to: 1_000 + 2 * Self.second, budget: 5) == 5)
        var last: Int64 = 0
        var spacingOK = true
        var count = 0
        while let intended = schedule.take() {
            if count > 0, intended - last != 50_000 { spacingOK = false }
            last = intended
            count += 1
        }
        #expect(count == 20_005 && spacingOK)
        _ = schedule.advance(to: 1_000 + 3 * Self.second, budget: 100)
        #expect(schedule.drain() == 100 && schedule.waiting == 0)
    }

    @Test func invariantsNameEachViolation() {
        var status = StatusCounts()
        status[.ok200] = 3
        status[.soldOut422] = 10
        let fine = PhaseResult.Invariants.check(limit: 3, ok200: 3, distinctWinners: 3, issued: 3, status: status, sent: 13)
        #expect(fine.violations.isEmpty)
        let duplicate = PhaseResult.Invariants.check(limit: 3, ok200: 3, distinctWinners: 2, issued: 3, status: status, sent: 13)
        #expect(duplicate.violations == ["3 answers were 200 but only 2 distinct users won: a duplicate"])
        let lost = PhaseResult.Invariants.check(limit: 3, ok200: 3, distinctWinners: 3, issued: 4, status: status, sent: 14)
        #expect(lost.violations.count == 2)
        #expect(lost.violations.contains("the server reports 4 issued but clients got 3 200s"))
        #expect(lost.violations.contains("14 requests were sent but 13 were counted"))
        var over = status
        over[.ok200] = 4
        let overIssued = PhaseResult.Invariants.check(limit: 3, ok200: 4, distinctWinners: 4, issued: 4, status: over, sent: 14)
        #expect(overIssued.violations == ["4 requests got 200 but the limit is 3: over-issued"])
        var under = status
        under[.ok200] = 2
        let soldOutEarly = PhaseResult.Invariants.check(limit: 3, ok200: 2, distinctWinners: 2, issued: 2, status: under, sent: 12)
        #expect(soldOutEarly.violations == ["clients were told 'sold out' but only 2 of 3 got 200"])
    }
}
