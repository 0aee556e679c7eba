import CouponTestSupport
import Synchronization
import Testing

@testable import CouponRedis

/// The batcher without Redis: a call that records its batches and can be held open.
@Suite struct RequestBatcherTests {
    /// Records every batch; the first `holding` calls stay open until `release()`.
    final class Recorder: Sendable {
        let batches = Mutex<[[Int]]>([])
        private let held = Mutex<[CheckedContinuation<Void, Never>]>([])
        private let holding: Int

        init(holding: Int = 0) { self.holding = holding }

        func call(_ key: String, _ items: [Int]) async throws -> [String] {
            let index = self.batches.withLock { batches in
                batches.append(items)
                return batches.count - 1
            }
            if index < self.holding {
                await withCheckedContinuation { continuation in
                    self.held.withLock { $0.append(continuation) }
                }
            }
            return items.map { "\(key)-\($0)" }
        }

        /// Waits until `count` calls are being held.
        func waitUntilHeld(_ count: Int = 1) async throws {
            try await eventually("\(count) calls are held") { self.held.withLock { $0.count } == count }
        }

        func release() {
            let held = self.held.withLock { held in
                defer { held = [] }
                return held
            }
            for continuation in held { continuation.resume() }
        }
    }

    @Test func aLoneRequestGoesOutAtOnceAsABatchOfOne() async throws {
        let batcher = RequestBatcher<String, Int, String>(maxBatch: 8)
        let recorder = Recorder()
        #expect(try await batcher.submit(7, for: "a", using: recorder.call) == "a-7")
        #expect(try await batcher.submit(8, for: "a", using: recorder.call) == "a-8")
        #expect(recorder.batches.withLock { $0 } == [[7], [8]])
    }

    @Test func requestsArrivingDuringACallShareTheNextOneAndGetTheirOwnAnswers() async throws {
        let batcher = RequestBatcher<String, Int, String>(maxBatch: 4, maxInFlight: 1)
        let recorder = Recorder(holding: 1)
        try await withThrowingTaskGroup(of: (Int, String).self) { group in
            group.addTask { (0, try await batcher.submit(0, for: "k", using: recorder.call)) }
            try await recorder.waitUntilHeld()
            for item in 1...10 {
                group.addTask { (item, try await batcher.submit(item, for: "k", using: recorder.call)) }
            }
            // Every one of them is queued behind the held call before it is released.
            try await eventually("ten requests queue") { batcher.queued(for: "k") == 10 }
            recorder.release()
            var answers: [Int: String] = [:]
            for try await (item, answer) in group { answers[item] = answer }
            #expect(answers == Dictionary(uniqueKeysWithValues: (0...10).map { ($0, "k-\($0)") }))
        }
        let batches = recorder.batches.withLock { $0 }
        #expect(batches.map(\.count) == [1, 4, 4, 2], "batches of at most maxBatch, none lost: \(batches)")
        #expect(batches.flatMap { $0 }.sorted() == Array(0...10))
        #expect(batcher.queued(for: "k") == nil, "the key is idle again")
    }

    @Test func aSecondCallGoesOutWhileTheFirstIsInFlightThenRequestsWait() async throws {
        let batcher = RequestBatcher<String, Int, String>(maxBatch: 4, maxInFlight: 2)
        let recorder = Recorder(holding: 2)
        try await withThrowingTaskGroup(of: String.self) { group in
            group.addTask { try await batcher.submit(0, for: "k", using: recorder.call) }
            try await recorder.waitUntilHeld(1)
            // The second slot is free: sent at once, not queued behind call 1.
            group.addTask { try await batcher.submit(1, for: "k", using: recorder.call) }
            try await recorder.waitUntilHeld(2)
            #expect(batcher.queued(for: "k") == 0)
            // Both slots busy: the next three wait, then share one call.
            for item in 2...4 {
                group.addTask { try await batcher.submit(item, for: "k", using: recorder.call) }
            }
            try await eventually("three requests queue") { batcher.queued(for: "k") == 3 }
            recorder.release()
            var answers: Set<String> = []
            for try await answer in group { answers.insert(answer) }
            #expect(answers == ["k-0", "k-1", "k-2", "k-3", "k-4"])
        }
        #expect(recorder.batches.withLock { $0 }.map { $0.sorted() } == [[0], [1], [2, 3, 4]], "they queued in any order")
        #expect(batcher.queued(for: "k") == nil, "the key is idle again")
    }

    @Test func keysDoNotWaitForEachOther() async throws {
        let batcher = RequestBatcher<String, Int, String>(maxBatch: 4)
        let held = Recorder(holding: 1)
        try await withThrowingTaskGroup(of: String.self) { group in
            group.addTask { try await batcher.submit(1, for: "slow", using: held.call) }
            try await held.waitUntilHeld()
            let other = try await batcher.submit(2, for: "other", using: Recorder().call)
            #expect(other == "other-2")
            held.release()
            let slow = try await group.next()
            #expect(slow == "slow-1")
        }
    }

    struct Refused: Error, Equatable {}

    @Test func aFailedCallFailsItsBatchAndTheRequestsQueuedBehindIt() async throws {
        let batcher = RequestBatcher<String, Int, String>(maxBatch: 4, maxInFlight: 1)
        let recorder = Recorder(holding: 1)
        let failing: @Sendable (String, [Int]) async throws -> [String] = { key, items in
            _ = try await recorder.call(key, items)
            throw Refused()
        }
        await withTaskGroup(of: Bool.self) { group in
            group.addTask { (try? await batcher.submit(0, for: "k", using: failing)) == nil }
            try? await recorder.waitUntilHeld()
            for item in 1...6 {
                group.addTask { (try? await batcher.submit(item, for: "k", using: failing)) == nil }
            }
            try? await eventually("six requests queue") { batcher.queued(for: "k") == 6 }
            recorder.release()
            var failures = 0
            for await failed in group where failed { failures += 1 }
            #expect(failures == 7)
        }
        #expect(recorder.batches.withLock { $0 } == [[0]], "the queued requests were failed, not sent")
        // The key is usable again at once.
        #expect(try await batcher.submit(9, for: "k", using: Recorder().call) == "k-9")
    }

    @Test func aCallThatAnswersTheWrongNumberOfItemsFailsThemAll() async throws {
        let batcher = RequestBatcher<String, Int, String>(maxBatch: 4)
        await #expect(throws: BatchAnswerCountError.self) {
            try await batcher.submit(1, for: "k") { _, _ in [] }
        }
    }
}
