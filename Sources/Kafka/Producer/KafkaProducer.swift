import Logging
import NIOCore
import ServiceLifecycle
import Synchronization

/// An idempotent producer: `acks=all`, a producer id and per-partition sequence numbers, so a retried
/// batch is never written twice; records are batched per partition (by size, and after `linger`) and
/// each `send` returns once every one of its records is acknowledged by the broker.
///
/// Run it as a `Service`: `run()` sends the batches; on graceful shutdown it sends what is queued
/// (within the delivery timeout) and returns. Retriable failures — a leader that moved, a broker that
/// is down or stalled — are retried with the same sequence until the delivery timeout; a record
/// that cannot be delivered fails its `send`, which may then send it again (a record whose earlier
/// attempt reached the broker unacknowledged can then be on the topic twice: delivery is at least once).
public final class KafkaProducer: Service, Sendable {
    public struct Configuration: Sendable {
        public var client: KafkaClientConfiguration
        /// A partition's records are sent once they fill this many bytes (or after `linger`).
        public var batchBytes = 512 * 1024
        /// How long records wait for more to join their batch.
        public var linger: Duration = .milliseconds(5)
        /// How long a `send` may take, retries included.
        public var deliveryTimeout: Duration = .seconds(30)
        /// The wait before a batch that failed with a retriable error is sent again.
        public var retryBackoff: Duration = .milliseconds(100)
        /// How long records keep waiting for a topic the broker says does not exist (it may be being created)
        /// before their `send` fails; nil waits the whole delivery timeout. A caller that creates the topic
        /// itself when it is missing sets this short, so it learns of the missing topic soon.
        public var missingTopicTimeout: Duration?

        public init(client: KafkaClientConfiguration) {
            self.client = client
        }
    }

    typealias Waiter = CheckedContinuation<Void, any Error>

    private struct State {
        var accumulator: ProducerAccumulator<Waiter>
        var running = false
        var stopped = false
        /// Deliveries cancelled before they were enqueued.
        var cancelled: Set<Int> = []
        /// The earliest wake-up a timer task is armed for.
        var timerAt: ContinuousClock.Instant?
        var roundRobin: Int32 = 0
    }

    public let configuration: Configuration
    let cluster: KafkaCluster
    private let logger: Logger
    private let state: Mutex<State>
    private let wakeups: AsyncStream<Void>
    private let wakeupsContinuation: AsyncStream<Void>.Continuation

    public init(configuration: Configuration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
        self.cluster = KafkaCluster(configuration: configuration.client, logger: logger)
        self.state = Mutex(
            State(
                accumulator: ProducerAccumulator(
                    configuration: .init(
                        batchBytes: configuration.batchBytes,
                        linger: configuration.linger,
                        deliveryTimeout: configuration.deliveryTimeout,
                        retryBackoff: configuration.retryBackoff
                    )
                )
            )
        )
        (self.wakeups, self.wakeupsContinuation) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1))
    }

    /// Records handed to `send` and not yet acknowledged or failed.
    public var recordsInFlight: Int {
        self.state.withLock { $0.accumulator.recordsInFlight }
    }

    /// Creates `topic` with `partitions` partitions unless it exists; true when this call created it.
    public func createTopicIfMissing(_ topic: String, partitions: Int32, replicationFactor: Int16 = -1) async throws -> Bool {
        guard partitions > 0 else {
            throw KafkaError(.invalidArgument, message: "a topic needs at least one partition, not \(partitions)")
        }
        return try await self.cluster.createTopic(topic, partitions: partitions, replicationFactor: replicationFactor)
    }

    /// The number of partitions of `topic`.
    public func partitionCount(of topic: String) async throws -> Int32 {
        try await self.cluster.topic(topic).partitionCount
    }

    /// Sends `records` and returns once the broker acknowledged every one (acks=all).
    ///
    /// - Throws: `KafkaError` — `.invalidArgument` for a record that cannot be sent (a negative
    ///   timestamp, a partition the topic does not have), `.brokerError` or `.timeout` when a record
    ///   was not acknowledged within the delivery timeout, `.cancelled`, or `.connectionClosed` when the
    ///   producer is not running. After an error some of the records may have been written.
    public func send(_ records: [KafkaProducerRecord]) async throws {
        guard !records.isEmpty else { return }
        var partitionCounts: [String: Int32] = [:]
        for record in records where partitionCounts[record.topic] == nil {
            guard !record.topic.isEmpty else { throw KafkaError(.invalidArgument, message: "a record has an empty topic name") }
            partitionCounts[record.topic] = try await self.cluster.topic(record.topic).partitionCount
        }
        var placed: [(TopicPartition, KafkaProducerRecord)] = []
        placed.reserveCapacity(records.count)
        for record in records {
            guard record.timestamp >= 0 else {
                throw KafkaError(.invalidArgument, message: "record timestamp \(record.timestamp) is before 1970")
            }
            let count = partitionCounts[record.topic] ?? 1
            let partition: Int32
            if let chosen = record.partition {
                guard (0..<count).contains(chosen) else {
                    throw KafkaError(.invalidArgument, message: "topic '\(record.topic)' has \(count) partitions; there is no partition \(chosen)")
                }
                partition = chosen
            } else if let key = record.key {
                partition = try KafkaPartitioner.partition(forKey: key.readableBytesView, partitionCount: count)
            } else {
                partition = self.state.withLock { state in
                    state.roundRobin &+= 1
                    return (state.roundRobin & 0x7fff_ffff) % count
                }
            }
            placed.append((TopicPartition(topic: record.topic, partition: partition), record))
        }

        let id = self.state.withLock { $0.accumulator.makeDeliveryID() }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (waiter: Waiter) in
                let refusal: KafkaError? = self.state.withLock { state in
                    if state.cancelled.remove(id) != nil {
                        return KafkaError(.cancelled, message: "the task was cancelled before its records were queued")
                    }
                    guard state.running, !state.stopped else {
                        return KafkaError(.connectionClosed, message: "the Kafka producer is not running")
                    }
                    state.accumulator.enqueue(placed, id: id, waiter: waiter, now: .now)
                    return nil
                }
                if let refusal {
                    waiter.resume(throwing: refusal)
                } else {
                    self.wake()
                }
            }
        } onCancel: {
            let waiter = self.state.withLock { state in
                let waiter = state.accumulator.abandon(id)
                if waiter == nil { state.cancelled.insert(id) }
                return waiter
            }
            waiter?.resume(throwing: KafkaError(.cancelled, message: "the task was cancelled while its records were being sent"))
        }
    }

    public func run() async throws {
        let alreadyRunning = self.state.withLock { state in
            defer { state.running = true }
            return state.running
        }
        guard !alreadyRunning else {
            throw KafkaError(.invalidArgument, message: "the Kafka producer is already running")
        }
        await withGracefulShutdownHandler {
            await withDiscardingTaskGroup { group in
                for await _ in self.wakeups {
                    await self.drain(into: &group)
                    let done = self.state.withLock { $0.stopped && $0.accumulator.isEmpty }
                    if done { break }
                }
                group.cancelAll()
            }
        } onGracefulShutdown: {
            self.state.withLock { state in
                state.stopped = true
                state.accumulator.flush()
            }
            self.wake()
        }
        let abandoned = self.state.withLock { state in
            state.stopped = true
            return state.accumulator.removeAll()
        }
        for waiter in abandoned {
            waiter.resume(throwing: KafkaError(.connectionClosed, message: "the Kafka producer stopped before the records were acknowledged"))
        }
        await self.cluster.shutdown()
    }

    private func wake() {
        self.wakeupsContinuation.yield()
    }

    /// Takes what is ready and starts sending it: one Produce request per leader.
    private func drain(into group: inout DiscardingTaskGroup) async {
        let (action, expired) = self.state.withLock { $0.accumulator.drain(now: .now) }
        for waiter in expired {
            waiter.resume(
                throwing: KafkaError(
                    .timeout,
                    message: "records were not sent within the delivery timeout (\(self.configuration.deliveryTimeout)): no leader or no producer id"
                )
            )
        }
        switch action {
        case .initProducerID:
            do {
                let connection = try await self.cluster.anyConnection()
                let response = try await connection.send(InitProducerIDRequest())
                guard !response.errorCode.isError else {
                    throw KafkaError(.brokerError, message: "InitProducerId failed: \(response.errorCode)", brokerCode: response.errorCode)
                }
                self.state.withLock { $0.accumulator.producerIDAssigned(id: response.producerID, epoch: response.producerEpoch) }
                self.logger.debug("Kafka producer id", metadata: ["id": "\(response.producerID)", "epoch": "\(response.producerEpoch)"])
                self.wake()
            } catch {
                self.logger.warning("Cannot get a Kafka producer id; retrying", metadata: ["error": "\(error)"])
                self.wake(at: .now + self.configuration.retryBackoff, group: &group)
            }
        case .send(let batches, let wakeAt):
            if let wakeAt { self.wake(at: wakeAt, group: &group) }
            var byLeader: [Int32: [ProducerAccumulator<Waiter>.Batch]] = [:]
            for batch in batches {
                do {
                    let leader = try await self.cluster.topic(batch.partition.topic).leaders[Int(batch.partition.partition)]
                    guard leader >= 0 else {
                        throw KafkaError(.brokerError, message: "\(batch.partition) has no leader", brokerCode: .leaderNotAvailable)
                    }
                    byLeader[leader, default: []].append(batch)
                } catch {
                    await self.failed(batch, error: error, group: &group)
                }
            }
            for (leader, batches) in byLeader {
                group.addTask { await self.produce(batches, to: leader) }
            }
        }
    }

    /// Sends `batches` to broker `node` in one Produce request and records each partition's outcome.
    private func produce(_ batches: [ProducerAccumulator<Waiter>.Batch], to node: Int32) async {
        var outcomes: [(ProducerAccumulator<Waiter>.Batch, KafkaError?)] = []
        do {
            let connection = try await self.cluster.connection(toNode: node)
            var topics: [String: [ProduceRequest.PartitionData]] = [:]
            for batch in batches {
                let recordBatch = try RecordBatch(
                    producing: batch.records.map { ($0.record.key, $0.record.value, $0.record.headers, $0.record.timestamp) },
                    producerID: batch.producerID,
                    producerEpoch: batch.producerEpoch,
                    baseSequence: batch.baseSequence
                )
                topics[batch.partition.topic, default: []].append(try .init(index: batch.partition.partition, batch: recordBatch))
            }
            let request = ProduceRequest(
                acks: -1,
                timeoutMs: Int32(clamping: self.configuration.client.requestTimeout.components.seconds * 1000),
                topics: topics.map { .init(name: $0.key, partitions: $0.value) }
            )
            let response = try await connection.send(request)
            for batch in batches {
                let answer = response.topics.first { $0.name == batch.partition.topic }?.partitions.first { $0.index == batch.partition.partition }
                guard let answer else {
                    outcomes.append((batch, KafkaError(.protocolError, message: "the Produce response does not mention \(batch.partition)")))
                    continue
                }
                switch answer.errorCode {
                case .none, .duplicateSequenceNumber:
                    // A duplicate is a retry of a batch the broker had already written.
                    outcomes.append((batch, nil))
                default:
                    if [.notLeaderOrFollower, .unknownTopicOrPartition, .leaderNotAvailable].contains(answer.errorCode) {
                        await self.cluster.markStale(batch.partition.topic)
                    }
                    let message = "producing to \(batch.partition) failed: \(answer.errorCode)\(answer.errorMessage.map { ": \($0)" } ?? "")"
                    outcomes.append((batch, KafkaError(.brokerError, message: message, brokerCode: answer.errorCode)))
                }
            }
        } catch {
            let kafkaError = error as? KafkaError ?? KafkaError(.connectionClosed, message: "\(error)")
            if kafkaError.code == .timeout || kafkaError.code == .connectionClosed || kafkaError.code == .protocolError {
                await self.cluster.dropConnection(toNode: node)
                for batch in batches { await self.cluster.markStale(batch.partition.topic) }
            }
            outcomes = batches.map { ($0, kafkaError) }
        }
        var resolved: [(Waiter, KafkaError?)] = []
        self.state.withLock { state in
            for (batch, error) in outcomes {
                if let error {
                    let retriable = self.isRetriable(error, batch)
                    resolved += state.accumulator.failed(batch, retriable: retriable, now: .now).failed.map { ($0, error) }
                } else {
                    resolved += state.accumulator.succeeded(batch).map { ($0, nil) }
                }
            }
        }
        for (waiter, error) in resolved {
            if let error { waiter.resume(throwing: error) } else { waiter.resume() }
        }
        if outcomes.contains(where: { $0.1 != nil }) {
            self.logger.debug(
                "Kafka produce failed",
                metadata: ["broker": "\(node)", "error": "\(outcomes.compactMap(\.1).first.map { "\($0)" } ?? "")"]
            )
        }
        // A retry waits for its backoff: the drain it needs is woken by the timer armed below.
        let retryAt = outcomes.contains { $0.1?.isRetriable ?? false } ? ContinuousClock.now + self.configuration.retryBackoff : nil
        self.wake()
        if let retryAt {
            try? await Task.sleep(until: retryAt)
            self.wake()
        }
    }

    private func failed(_ batch: ProducerAccumulator<Waiter>.Batch, error: any Error, group: inout DiscardingTaskGroup) async {
        let kafkaError = error as? KafkaError ?? KafkaError(.connectionClosed, message: "\(error)")
        let retriable = self.isRetriable(kafkaError, batch)
        let (failed, retryAt) = self.state.withLock { $0.accumulator.failed(batch, retriable: retriable, now: .now) }
        for waiter in failed { waiter.resume(throwing: kafkaError) }
        if let retryAt { self.wake(at: retryAt, group: &group) }
    }

    /// Whether `batch` is sent again after `error`: a retriable error, unless the topic has been missing
    /// for longer than `missingTopicTimeout` (counted from the batch's oldest record).
    private func isRetriable(_ error: KafkaError, _ batch: ProducerAccumulator<Waiter>.Batch) -> Bool {
        guard error.isRetriable else { return false }
        guard error.isUnknownTopic, let limit = self.configuration.missingTopicTimeout else { return true }
        let enqueued = batch.deadline - self.configuration.deliveryTimeout
        return ContinuousClock.now - enqueued < limit
    }

    /// Wakes the sender at `instant` (once: an earlier timer already armed covers it).
    private func wake(at instant: ContinuousClock.Instant, group: inout DiscardingTaskGroup) {
        let arm = self.state.withLock { state in
            if let armed = state.timerAt, armed <= instant, armed > .now { return false }
            state.timerAt = instant
            return true
        }
        guard arm else { return }
        group.addTask {
            try? await Task.sleep(until: instant)
            self.state.withLock { state in
                if state.timerAt == instant { state.timerAt = nil }
            }
            self.wake()
        }
    }
}
