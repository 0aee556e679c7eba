import CoreMetrics
import CouponCore
import Logging
import Metrics
import ServiceLifecycle

/// Commits what the embedded gate queues, many writes per transaction.
///
/// On graceful shutdown it stops only after the queue is empty: the HTTP
/// server shuts down first (services stop in reverse order), so every request
/// that was admitted gets its commit and its answer.
struct CommitWriter: Service {
    let queue: CommitQueue
    let store: any CouponStore
    let logger: Logger
    /// Commit times and sizes, when metrics are on.
    var metrics: ServerMetrics?
    /// Most writes in one transaction.
    var batchLimit = 1_000
    /// Backoff bounds while the store refuses writes.
    var retryDelay: (first: Duration, maximum: Duration) = (.milliseconds(50), .seconds(2))

    func run() async {
        await withTaskCancellationOrGracefulShutdownHandler {
            while true {
                let batch = await self.queue.nextBatch(limit: self.batchLimit)
                guard let last = batch.last?.ticket else { return }
                await self.commit(batch, through: last)
            }
        } onCancelOrGracefulShutdown: {
            self.queue.close()
        }
    }

    /// Commits `batch`, retrying with backoff until it succeeds. Nothing is
    /// dropped: a batch that cannot be written blocks the ones behind it
    /// rather than letting later winners overtake it.
    private func commit(_ batch: [CommitQueue.Entry], through last: UInt64) async {
        var delay = self.retryDelay.first
        var attempt = 1
        while true {
            do {
                let start = ContinuousClock.now
                try await self.store.write(batch.map(\.write))
                self.metrics?.commitDuration.record(duration: ContinuousClock.now - start)
                self.metrics?.commitBatchSize.record(batch.count)
                self.queue.committed(through: last)
                if attempt > 1 {
                    self.logger.notice("Store accepts writes again", metadata: ["attempts": "\(attempt)"])
                }
                return
            } catch {
                self.logger.error(
                    "Store write failed; retrying",
                    metadata: ["writes": "\(batch.count)", "attempt": "\(attempt)", "error": "\(error)"]
                )
                self.queue.failed(
                    through: last,
                    error: CouponError(.storeUnavailable, "The coupon store is not accepting writes; retry shortly.")
                )
                // Graceful shutdown waits for the retry; only a hard cancellation gives up.
                // The waiters already got 503, so no client was told it won a coupon that is dropped here.
                if Task.isCancelled {
                    self.logger.critical("Cancelled with unwritten changes", metadata: ["writes": "\(batch.count)"])
                    return
                }
                try? await Task.sleep(for: delay)
                delay = min(delay * 2, self.retryDelay.maximum)
                attempt += 1
            }
        }
    }
}
