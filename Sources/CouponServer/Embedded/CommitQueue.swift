import CouponCore
import Synchronization

/// The ordered queue between the embedded gate and the store: group commit.
///
/// The gate enqueues a write (under its own lock, so queue order is admission
/// order) and gets a ticket; the writer takes everything queued, commits it in
/// one transaction and publishes the highest committed ticket. Whoever holds a
/// ticket waits for it with ``waitUntilCommitted(_:)`` — with no lock held,
/// so the sold-out path never waits behind a disk write.
final class CommitQueue: Sendable {
    struct Entry: Sendable {
        var ticket: UInt64
        var write: StoreWrite
    }

    private struct State {
        var nextTicket: UInt64 = 1
        var queued: [Entry] = []
        var writer: CheckedContinuation<Void, Never>?
        var waiters: [UInt64: [CheckedContinuation<Void, any Error>]] = [:]
        /// Set once the writer stops taking batches: later writes are refused.
        var closing = false
        var closed = false
    }

    private let state = Mutex(State())
    /// Every ticket up to this one is committed. Read without the lock on the 409 path.
    private let committed = Atomic<UInt64>(0)

    init() {}

    // MARK: Gate side

    /// Queues `write`; returns its ticket.
    /// - Throws: ``CouponError/storeUnavailable`` once the writer has stopped.
    func enqueue(_ write: StoreWrite) throws(CouponError) -> UInt64 {
        let (ticket, writer) = try self.state.withLock { state throws(CouponError) in
            guard !state.closed else {
                throw CouponError(.storeUnavailable, "The service is shutting down; the coupon was not issued. Retry shortly.")
            }
            let ticket = state.nextTicket
            state.nextTicket += 1
            state.queued.append(Entry(ticket: ticket, write: write))
            let writer = state.writer
            state.writer = nil
            return (ticket, writer)
        }
        writer?.resume()
        return ticket
    }

    func isCommitted(_ ticket: UInt64) -> Bool {
        ticket <= self.committed.load(ordering: .acquiring)
    }

    /// Returns once `ticket` is committed.
    /// - Throws: ``CouponError/storeUnavailable`` if the attempt to commit it fails
    ///   (the writer keeps retrying; a later wait may succeed).
    func waitUntilCommitted(_ ticket: UInt64) async throws {
        if self.isCommitted(ticket) { return }
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let ready = self.state.withLock { state in
                // Checked again under the lock: the writer publishes under it too.
                if self.isCommitted(ticket) { return true }
                state.waiters[ticket, default: []].append(continuation)
                return false
            }
            if ready { continuation.resume() }
        }
    }

    // MARK: Writer side

    /// The next batch of at most `limit` entries; waits while the queue is empty.
    /// Returns an empty batch once closed and drained.
    func nextBatch(limit: Int) async -> [Entry] {
        while true {
            enum Step {
                case batch([Entry])
                case wait
            }
            let step = self.state.withLock { state -> Step in
                if !state.queued.isEmpty {
                    guard state.queued.count > limit else {
                        defer { state.queued = [] }
                        return .batch(state.queued)
                    }
                    let batch = Array(state.queued.prefix(limit))
                    state.queued.removeFirst(limit)
                    return .batch(batch)
                }
                if state.closing {
                    state.closed = true
                    return .batch([])
                }
                return .wait
            }
            switch step {
            case .batch(let batch):
                return batch
            case .wait:
                await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                    let resumeNow = self.state.withLock { state in
                        if !state.queued.isEmpty || state.closing { return true }
                        state.writer = continuation
                        return false
                    }
                    if resumeNow { continuation.resume() }
                }
            }
        }
    }

    /// Publishes that every ticket up to `ticket` is committed, and wakes their waiters.
    func committed(through ticket: UInt64) {
        let woken = self.state.withLock { state in
            self.committed.store(ticket, ordering: .releasing)
            return Self.removeWaiters(through: ticket, from: &state)
        }
        for continuation in woken { continuation.resume() }
    }

    /// Fails the current waiters of tickets up to `ticket`; their writes stay with the writer for a retry.
    func failed(through ticket: UInt64, error: CouponError) {
        let failed = self.state.withLock { Self.removeWaiters(through: ticket, from: &$0) }
        for continuation in failed { continuation.resume(throwing: error) }
    }

    /// Stops accepting writes once the queue has drained; wakes an idle writer.
    func close() {
        let writer = self.state.withLock { state in
            state.closing = true
            let writer = state.writer
            state.writer = nil
            return writer
        }
        writer?.resume()
    }

    private static func removeWaiters(
        through ticket: UInt64,
        from state: inout State
    ) -> [CheckedContinuation<Void, any Error>] {
        guard !state.waiters.isEmpty else { return [] }
        var removed: [CheckedContinuation<Void, any Error>] = []
        for key in state.waiters.keys where key <= ticket {
            removed.append(contentsOf: state.waiters.removeValue(forKey: key) ?? [])
        }
        return removed
    }
}
