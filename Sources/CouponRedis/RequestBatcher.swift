import Synchronization

/// Groups concurrent requests for the same key into few calls: while a key has `maxInFlight`
/// calls in flight, new requests for that key queue, and the next call takes them all (up to
/// `maxBatch`). Group commit, as the embedded gate's commit queue does for SQLite.
///
/// In distributed mode this turns a drop's many applies to one campaign into few gate-script
/// calls: Redis spends less than half the CPU per apply (one script invocation, one `TIME`,
/// one read of the campaign for a whole batch) and the API sends, parses and waits on one
/// command per batch. A lone request goes out at once, so an idle gate adds no latency.
///
/// No task is spawned: a request that finds a free slot sends the batch (it "leads");
/// when that call ends it hands the next batch to the first request waiting, which leads it.
/// Every request waits for at most a call in flight plus its own, each bounded by the
/// Redis command deadline. When a call fails, the requests queued meanwhile fail with the
/// same error rather than queue behind a Redis that is not answering.
final class RequestBatcher<Key: Hashable & Sendable, Item: Sendable, Answer: Sendable>: Sendable {
    private struct Waiter {
        let item: Item
        let continuation: CheckedContinuation<Turn, Never>
    }

    private enum Turn {
        case answered(Result<Answer, any Error>)
        /// Send a batch of this request's item and `followers`' items, then answer them.
        case lead(followers: [Waiter])
    }

    private struct Queue {
        var inFlight = 0
        var waiting: [Waiter] = []
    }

    /// Keys with a call in flight, and who waits for each; an idle key has no entry.
    private let queues = Mutex<[Key: Queue]>([:])
    private let maxBatch: Int
    private let maxInFlight: Int

    /// - Parameters:
    ///   - maxBatch: the most items one call carries.
    ///   - maxInFlight: the most calls in flight per key; with two, the next batch is on its way
    ///     while Redis still writes the previous one to its append-only file.
    init(maxBatch: Int, maxInFlight: Int = 2) {
        self.maxBatch = max(1, maxBatch)
        self.maxInFlight = max(1, maxInFlight)
    }

    /// Whether a request for `key` may send a call now (then it is counted in flight) or must queue.
    private static func startsCall(_ queue: inout Queue?, maxInFlight: Int) -> Bool {
        var current = queue ?? Queue()
        defer { queue = current }
        guard current.waiting.isEmpty, current.inFlight < maxInFlight else { return false }
        current.inFlight += 1
        return true
    }

    /// Sends `item` in the next call for `key` and returns its answer.
    ///
    /// - Parameter call: sends a batch and answers every item, in order; run by whichever
    ///   request leads the batch, so every caller for a key must pass the same call.
    func submit(
        _ item: Item,
        for key: Key,
        using call: (Key, [Item]) async throws -> [Answer]
    ) async throws -> Answer {
        let leadsNow = self.queues.withLock { Self.startsCall(&$0[key], maxInFlight: self.maxInFlight) }
        if leadsNow {
            return try await self.lead(item, followers: [], for: key, using: call)
        }
        let turn = await withCheckedContinuation { (continuation: CheckedContinuation<Turn, Never>) in
            let leadsNow = self.queues.withLock { queues in
                if Self.startsCall(&queues[key], maxInFlight: self.maxInFlight) {
                    return true
                }
                queues[key]?.waiting.append(Waiter(item: item, continuation: continuation))
                return false
            }
            if leadsNow {
                continuation.resume(returning: .lead(followers: []))
            }
        }
        switch turn {
        case .answered(let result):
            return try result.get()
        case .lead(let followers):
            return try await self.lead(item, followers: followers, for: key, using: call)
        }
    }

    /// Requests waiting for `key`'s next call; nil when no call for `key` is in flight.
    func queued(for key: Key) -> Int? {
        self.queues.withLock { $0[key]?.waiting.count }
    }

    private func lead(
        _ item: Item,
        followers: [Waiter],
        for key: Key,
        using call: (Key, [Item]) async throws -> [Answer]
    ) async throws -> Answer {
        var items = [item]
        items.reserveCapacity(1 + followers.count)
        for follower in followers { items.append(follower.item) }

        let result: Result<[Answer], any Error>
        do {
            let answers = try await call(key, items)
            guard answers.count == items.count else {
                throw BatchAnswerCountError(sent: items.count, answered: answers.count)
            }
            result = .success(answers)
        } catch {
            result = .failure(error)
        }

        // Hand the next batch over first, so it is on its way while this one's answers go out.
        let (next, failed) = self.queues.withLock { queues -> ([Waiter], [Waiter]) in
            guard var queue = queues[key] else { return ([], []) }
            defer { queues[key] = queue.inFlight == 0 ? nil : queue }
            let queued = queue.waiting
            if case .failure = result {
                queue.waiting = []
                queue.inFlight -= 1
                return ([], queued)
            }
            guard !queued.isEmpty else {
                queue.inFlight -= 1
                return ([], [])
            }
            // This call's slot passes to the next batch.
            let count = min(queued.count, self.maxBatch)
            queue.waiting = Array(queued.dropFirst(count))
            return (Array(queued.prefix(count)), [])
        }
        if let newLeader = next.first {
            newLeader.continuation.resume(returning: .lead(followers: Array(next.dropFirst())))
        }

        switch result {
        case .success(let answers):
            for (index, follower) in followers.enumerated() {
                follower.continuation.resume(returning: .answered(.success(answers[index + 1])))
            }
            return answers[0]
        case .failure(let error):
            for waiter in followers + failed {
                waiter.continuation.resume(returning: .answered(.failure(error)))
            }
            throw error
        }
    }
}

/// A batch call answered a different number of items than it was sent: a bug, never a guess.
struct BatchAnswerCountError: Error, CustomStringConvertible {
    let sent: Int
    let answered: Int

    var description: String { "a batch of \(self.sent) was answered with \(self.answered) answers" }
}
