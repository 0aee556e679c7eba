/// The producer's bookkeeping, without sockets or clocks of its own: records waiting per partition,
/// the batch in flight per partition, sequence numbers, and who waits for which records.
///
/// One batch per partition is in flight at a time, so a retry — the same batch with the same base
/// sequence — can never overtake or be overtaken by a later batch: the broker writes each batch once
/// and in order (`DUPLICATE_SEQUENCE_NUMBER` for a batch it already has counts as success). When a
/// batch fails for good, whether the broker wrote it is unknown, so the sequences are abandoned: the
/// producer gets a new producer id before it sends anything else.
struct ProducerAccumulator<Waiter> {
    struct Configuration {
        /// A partition's records are sent once they fill this many bytes, or after `linger`.
        var batchBytes: Int
        var linger: Duration
        /// How long a record may take from `enqueue` to its acknowledgement, retries included.
        var deliveryTimeout: Duration
        /// The wait before a batch that failed with a retriable error is sent again.
        var retryBackoff: Duration
    }

    typealias Instant = ContinuousClock.Instant
    typealias DeliveryID = Int

    struct Queued {
        var record: KafkaProducerRecord
        var delivery: DeliveryID
        var enqueuedAt: Instant
    }

    /// A batch to send: records of one partition with its base sequence.
    struct Batch {
        var id: Int
        var partition: TopicPartition
        var records: [Queued]
        var baseSequence: Int32
        var producerID: Int64
        var producerEpoch: Int16
        /// When the records' delivery timeout ends (from the oldest record).
        var deadline: Instant
        var attempts: Int
    }

    private struct Partition {
        var queue: [Queued] = []
        var queuedBytes = 0
        var nextSequence: Int32 = 0
        /// The batch sent and not yet answered, or waiting to be sent again.
        var inFlight: Batch?
        /// While `inFlight` waits for its retry, when it may go.
        var retryAt: Instant?
    }

    private struct Delivery {
        var waiter: Waiter
        var remaining: Int
    }

    enum DrainAction {
        /// Get a producer id (InitProducerId) and call `producerIDAssigned`, then drain again.
        case initProducerID
        /// Send these; drain again at `wakeAt` if set.
        case send([Batch], wakeAt: Instant?)
    }

    let configuration: Configuration
    private var partitions: [TopicPartition: Partition] = [:]
    private var deliveries: [DeliveryID: Delivery] = [:]
    private var nextDeliveryID = 0
    private var nextBatchID = 0
    private var producerID: (id: Int64, epoch: Int16)?
    private var flushing = false

    init(configuration: Configuration) {
        self.configuration = configuration
    }

    /// Records enqueued and not yet acknowledged or failed.
    private(set) var recordsInFlight = 0

    /// True when nothing is queued or in flight.
    var isEmpty: Bool { self.recordsInFlight == 0 }

    /// A new delivery id, taken before `enqueue` so a cancellation can name the delivery.
    mutating func makeDeliveryID() -> DeliveryID {
        defer { self.nextDeliveryID += 1 }
        return self.nextDeliveryID
    }

    /// Queues `records` (each with its partition chosen) as delivery `id` for `waiter`, who is told
    /// once all of them are acknowledged, or the first one fails.
    mutating func enqueue(_ records: [(TopicPartition, KafkaProducerRecord)], id: DeliveryID, waiter: Waiter, now: Instant) {
        self.deliveries[id] = Delivery(waiter: waiter, remaining: records.count)
        for (partition, record) in records {
            self.partitions[partition, default: Partition()].queue.append(Queued(record: record, delivery: id, enqueuedAt: now))
            self.partitions[partition, default: Partition()].queuedBytes += record.estimatedSize
        }
        self.recordsInFlight += records.count
    }

    /// The waiter of `id` stops waiting (its task was cancelled); its records are still sent.
    /// Nil when it is not waiting (done already, or not enqueued yet).
    mutating func abandon(_ id: DeliveryID) -> Waiter? {
        self.deliveries.removeValue(forKey: id)?.waiter
    }

    /// Every waiter, for a producer that stops; the records are dropped.
    mutating func removeAll() -> [Waiter] {
        let waiters = self.deliveries.values.map(\.waiter)
        self.deliveries = [:]
        self.partitions = [:]
        self.recordsInFlight = 0
        return waiters
    }

    /// From now on every queued record is sent without lingering (shutdown).
    mutating func flush() {
        self.flushing = true
    }

    mutating func producerIDAssigned(id: Int64, epoch: Int16) {
        self.producerID = (id, epoch)
        for key in self.partitions.keys { self.partitions[key]?.nextSequence = 0 }
    }

    /// The batches ready to send now, and records past their delivery timeout failed.
    ///
    /// - Returns: what to do, and the waiters whose records timed out before they could be sent.
    mutating func drain(now: Instant) -> (action: DrainAction, expired: [Waiter]) {
        var expired: [Waiter] = []
        var wakeAt: Instant?
        func wake(at instant: Instant) { wakeAt = min(wakeAt ?? instant, instant) }

        // Records still queued past their deadline (no leader, no producer id) fail without being sent.
        for key in self.partitions.keys {
            guard var partition = self.partitions[key] else { continue }
            let cutoff = partition.queue.prefix { now - $0.enqueuedAt >= self.configuration.deliveryTimeout }.count
            if cutoff > 0 {
                for queued in partition.queue.prefix(cutoff) {
                    expired += self.resolve(queued.delivery, failed: true)
                }
                partition.queuedBytes -= partition.queue.prefix(cutoff).reduce(0) { $0 + $1.record.estimatedSize }
                partition.queue.removeFirst(cutoff)
                self.recordsInFlight -= cutoff
                self.partitions[key] = partition
            }
        }

        guard let producerID = self.producerID else {
            let inFlight = self.partitions.values.contains { $0.inFlight != nil }
            if inFlight || self.recordsInFlight == 0 { return (.send([], wakeAt: nil), expired) }
            return (.initProducerID, expired)
        }

        var batches: [Batch] = []
        for key in self.partitions.keys.sorted(by: { ($0.topic, $0.partition) < ($1.topic, $1.partition) }) {
            guard var partition = self.partitions[key] else { continue }
            if var batch = partition.inFlight {
                // In flight: only a batch waiting for its retry may go, once its backoff passed.
                guard let retryAt = partition.retryAt else { continue }
                guard now >= retryAt else {
                    wake(at: retryAt)
                    continue
                }
                batch.attempts += 1
                partition.inFlight = batch
                partition.retryAt = nil
                self.partitions[key] = partition
                batches.append(batch)
                continue
            }
            guard let oldest = partition.queue.first else { continue }
            let lingerEnds = oldest.enqueuedAt + self.configuration.linger
            guard self.flushing || partition.queuedBytes >= self.configuration.batchBytes || now >= lingerEnds else {
                wake(at: lingerEnds)
                continue
            }
            var count = 0
            var bytes = 0
            for queued in partition.queue {
                let size = queued.record.estimatedSize
                if count > 0, bytes + size > self.configuration.batchBytes { break }
                count += 1
                bytes += size
            }
            let records = Array(partition.queue.prefix(count))
            partition.queue.removeFirst(count)
            partition.queuedBytes -= bytes
            let batch = Batch(
                id: self.nextBatchID,
                partition: key,
                records: records,
                baseSequence: partition.nextSequence,
                producerID: producerID.id,
                producerEpoch: producerID.epoch,
                deadline: oldest.enqueuedAt + self.configuration.deliveryTimeout,
                attempts: 1
            )
            self.nextBatchID += 1
            // Sequences wrap to 0 after Int32.max, as the broker expects.
            partition.nextSequence = Self.sequence(partition.nextSequence, plus: count)
            partition.inFlight = batch
            self.partitions[key] = partition
            batches.append(batch)
        }
        return (.send(batches, wakeAt: wakeAt), expired)
    }

    /// The broker acknowledged `batch`: the waiters whose every record is now acknowledged.
    mutating func succeeded(_ batch: Batch) -> [Waiter] {
        guard self.finish(batch) else { return [] }
        var done: [Waiter] = []
        for queued in batch.records {
            done += self.resolve(queued.delivery, failed: false)
        }
        return done
    }

    /// `batch` failed. A retriable failure before the deadline sends it again after the backoff
    /// (nothing returned); otherwise its waiters fail and the producer id is dropped.
    ///
    /// - Returns: the waiters to fail, and when to drain again for the retry.
    mutating func failed(_ batch: Batch, retriable: Bool, now: Instant) -> (failed: [Waiter], retryAt: Instant?) {
        guard let current = self.partitions[batch.partition]?.inFlight, current.id == batch.id else { return ([], nil) }
        let retryAt = now + self.configuration.retryBackoff
        if retriable, retryAt < batch.deadline {
            self.partitions[batch.partition]?.retryAt = retryAt
            return ([], retryAt)
        }
        _ = self.finish(batch)
        // Whether the broker wrote the batch is unknown: later sequences would be out of order.
        self.producerID = nil
        var failed: [Waiter] = []
        for queued in batch.records {
            failed += self.resolve(queued.delivery, failed: true)
        }
        return (failed, nil)
    }

    /// Clears `batch` from its partition; false when it is not the batch in flight there.
    private mutating func finish(_ batch: Batch) -> Bool {
        guard let current = self.partitions[batch.partition]?.inFlight, current.id == batch.id else { return false }
        self.partitions[batch.partition]?.inFlight = nil
        self.partitions[batch.partition]?.retryAt = nil
        self.recordsInFlight -= batch.records.count
        return true
    }

    /// One record of `delivery` is done; its waiter when that completes (or, on failure, fails) it.
    private mutating func resolve(_ delivery: DeliveryID, failed: Bool) -> [Waiter] {
        guard var entry = self.deliveries[delivery] else { return [] }
        if failed {
            self.deliveries[delivery] = nil
            return [entry.waiter]
        }
        entry.remaining -= 1
        if entry.remaining == 0 {
            self.deliveries[delivery] = nil
            return [entry.waiter]
        }
        self.deliveries[delivery] = entry
        return []
    }

    static func sequence(_ sequence: Int32, plus count: Int) -> Int32 {
        let next = Int64(sequence) + Int64(count)
        return next > Int64(Int32.max) ? Int32(truncatingIfNeeded: next - Int64(Int32.max) - 1) : Int32(next)
    }
}
