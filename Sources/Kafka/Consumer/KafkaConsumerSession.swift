import Logging
import NIOCore

/// One generation of a consumer's membership: the fetch loop (fetch, handler, commit) with heartbeats beside it
/// (and, on the group's leader, a watch on the subscribed topics' metadata), until a heartbeat, a commit or that
/// watch ends the generation or shutdown is requested.
struct KafkaConsumerSession: Sendable {
    typealias ConsumingEnd = KafkaConsumerGroupStateMachine.ConsumingEnd

    let consumer: KafkaConsumer
    let links: KafkaConsumerLinks
    let coordinator: KafkaConsumerGroupStateMachine.Coordinator
    let generation: KafkaConsumerGroupStateMachine.Generation
    let handler: KafkaConsumer.Handler
    let shutdown: KafkaConsumerSignal
    /// Raised by the heartbeat or the metadata watch when the generation is over.
    let generationEnd = KafkaConsumerSignal()

    private var configuration: KafkaConsumer.Configuration { self.consumer.configuration }
    private var logger: Logger { self.consumer.log }

    private enum ChildResult: Sendable {
        case heartbeatStopped
        case metadataWatchStopped
        case fetchLoopEnded(ConsumingEnd?)
    }

    /// Consumes from `positions` (the next offset of each assigned partition); the leader passes what it
    /// computed the assignment from as `basis`. Returns why the generation ended, or nil when the task was cancelled.
    /// - Throws: `.unsupportedCompression` or `.corruptRecord` for records that cannot be decoded.
    func run(from positions: [TopicPartition: Int64], watching basis: KafkaAssignmentBasis?) async throws -> ConsumingEnd? {
        self.consumer.progress.assigned(positions)
        return try await withThrowingTaskGroup(of: ChildResult.self) { group in
            // The heartbeat runs beside the handler, so a slow handler keeps its membership.
            group.addTask {
                await self.heartbeat()
                return .heartbeatStopped
            }
            if let basis {
                group.addTask {
                    await self.watchMetadata(basis)
                    return .metadataWatchStopped
                }
            }
            group.addTask {
                .fetchLoopEnded(try await self.fetchLoop(from: positions))
            }
            var end: ConsumingEnd?
            while let result = try await group.next() {
                if case .fetchLoopEnded(let ended) = result {
                    end = ended
                    break
                }
            }
            group.cancelAll()
            return end
        }
    }

    // MARK: Heartbeat

    private func heartbeat() async {
        var lastAnswer = ContinuousClock.now
        let request = HeartbeatRequest(
            groupID: self.configuration.groupID,
            generationID: self.generation.id,
            memberID: self.generation.memberID
        )
        while self.generationEnd.raised == nil {
            do {
                try await Task.sleep(for: self.configuration.heartbeatInterval)
            } catch {
                return  // cancelled: the fetch loop ended
            }
            if let response = await self.consumer.send(request, to: .coordinator(self.coordinator), self.links) {
                lastAnswer = .now
                if let end = KafkaConsumerGroupStateMachine.consumingEnd(for: response.errorCode) {
                    self.logger.info(
                        "Kafka consumer: heartbeat answered \(response.errorCode); the batch in hand is finished, then the group joined again"
                    )
                    self.generationEnd.raise(end)
                }
            } else if Task.isCancelled {
                return
            } else if ContinuousClock.now - lastAnswer >= self.configuration.sessionTimeout {
                // The coordinator has surely dropped this member by now.
                self.generationEnd.raise(.coordinatorLost)
            }
        }
    }

    // MARK: Metadata watch

    /// The leader's look at the subscribed topics: the other members cannot see the group's subscriptions,
    /// and the leader's rejoin makes every member rejoin (their heartbeats get REBALANCE_IN_PROGRESS).
    private func watchMetadata(_ basis: KafkaAssignmentBasis) async {
        let interval = basis.checkInterval(metadataMaxAge: self.configuration.client.metadataMaxAge)
        while self.generationEnd.raised == nil {
            do {
                try await Task.sleep(for: interval)
            } catch {
                return  // cancelled: the fetch loop ended
            }
            var current: [String: KafkaAssignmentBasis.Observation] = [:]
            for topic in basis.topics {
                do {
                    current[topic] = .partitions(try await self.links.cluster.topic(topic, refresh: true).partitionCount)
                } catch let error as KafkaError where error.brokerCode == .unknownTopicOrPartition {
                    current[topic] = .missing
                } catch {
                    // Not known this time (broker unreachable, a topic still being created): looked at again next time.
                    guard !Task.isCancelled else { return }
                }
            }
            if let change = basis.change(current) {
                self.logger.info(
                    "Kafka consumer: \(change) since the group's assignment; the batch in hand is finished, then the group joined again",
                    metadata: ["kafka.generation": "\(self.generation.id)"]
                )
                self.generationEnd.raise(.rejoin)
            }
        }
    }

    // MARK: Fetch loop

    private var stopReason: ConsumingEnd? {
        self.shutdown.raised ?? self.generationEnd.raised
    }

    private func fetchLoop(from start: [TopicPartition: Int64]) async throws -> ConsumingEnd? {
        var positions = start
        var committed = start
        var failures = 0
        while true {
            if let end = self.stopReason { return end }
            guard !Task.isCancelled else { return nil }
            guard !positions.isEmpty else {
                // Nothing assigned: only the heartbeat has work.
                try? await Task.sleep(for: .milliseconds(100))
                continue
            }
            let round = try await self.fetch(positions)
            if round.failed {
                failures += 1
                try? await Task.sleep(for: self.backoff(failures))
            } else {
                failures = 0
            }
            var next = positions
            var records: [KafkaConsumerRecord] = []
            for (partition, fetched) in round.fetched.sorted(by: { $0.key < $1.key }) {
                records += fetched.records
                next[partition] = fetched.nextOffset
            }
            if !records.isEmpty {
                switch await self.deliver(records) {
                case .delivered: break
                case .ended(let end): return end
                case .cancelled: return nil
                }
            }
            let changed = next.filter { committed[$0.key] != $0.value }
            if !changed.isEmpty {
                if let end = await self.commit(changed) { return end }
                committed.merge(changed) { $1 }
                self.consumer.progress.committed(changed)
            }
            positions = next
        }
    }

    private enum Delivery {
        case delivered
        /// The generation ended (or shutdown began) while the handler kept failing: the records stay
        /// uncommitted and are delivered again after the rejoin.
        case ended(ConsumingEnd)
        /// The task was cancelled: nothing more is committed.
        case cancelled
    }

    /// Calls the handler until it returns without throwing.
    private func deliver(_ records: [KafkaConsumerRecord]) async -> Delivery {
        var attempts = 0
        while true {
            do {
                try await self.handler(records)
                return .delivered
            } catch {
                // A handler that threw is never followed by a commit of its records, cancelled or not.
                guard !Task.isCancelled else { return .cancelled }
                attempts += 1
                self.logger.error(
                    "Kafka consumer: the handler failed on \(records.count) records; they are delivered again after a backoff",
                    metadata: ["error": "\(error)", "kafka.attempt": "\(attempts)"]
                )
                try? await Task.sleep(for: self.backoff(attempts))
                if let end = self.stopReason { return .ended(end) }
            }
        }
    }

    /// Commits `offsets` (the next offset to consume of each partition) in this generation, retrying a lost
    /// connection a few times; nil when committed, else why the generation ended.
    private func commit(_ offsets: [TopicPartition: Int64]) async -> ConsumingEnd? {
        let request = OffsetCommitRequest(
            groupID: self.configuration.groupID,
            generationID: self.generation.id,
            memberID: self.generation.memberID,
            topics: offsets.keys.groupedByTopic().map { topic in
                .init(
                    name: topic.topic,
                    partitions: topic.partitions.map { partition in
                        .init(partitionIndex: partition, committedOffset: offsets[TopicPartition(topic: topic.topic, partition: partition)] ?? -1)
                    }
                )
            }
        )
        for attempt in 1...3 {
            guard let response = await self.consumer.send(request, to: .coordinator(self.coordinator), self.links) else {
                if Task.isCancelled { return .coordinatorLost }
                try? await Task.sleep(for: self.backoff(attempt))
                continue
            }
            for topic in response.topics {
                for partition in topic.partitions {
                    if let end = KafkaConsumerGroupStateMachine.consumingEnd(for: partition.errorCode) {
                        self.logger.warning(
                            "Kafka consumer: committing \(topic.name)-\(partition.partitionIndex) failed: \(partition.errorCode); its records since the last commit will be delivered again"
                        )
                        return end
                    }
                }
            }
            return nil
        }
        return .coordinatorLost
    }

    private struct FetchRound: Sendable {
        var fetched: [TopicPartition: FetchedRecords] = [:]
        /// Some partition could not be fetched (no leader, broker down, an error code): back off before the next round.
        var failed = false
    }

    /// One Fetch per leader, concurrently.
    private func fetch(_ positions: [TopicPartition: Int64]) async throws -> FetchRound {
        guard let byLeader = await self.consumer.leaders(of: positions.keys, self.links.cluster) else {
            return FetchRound(failed: true)
        }
        return try await withThrowingTaskGroup(of: FetchRound.self) { group in
            for (leader, partitions) in byLeader {
                group.addTask { try await self.fetch(partitions, from: leader, positions: positions) }
            }
            var round = FetchRound()
            while let result = try await group.next() {
                round.fetched.merge(result.fetched) { $1 }
                round.failed = round.failed || result.failed
            }
            return round
        }
    }

    private func fetch(_ partitions: [TopicPartition], from leader: Int32, positions: [TopicPartition: Int64]) async throws -> FetchRound {
        let configuration = self.configuration
        let request = FetchRequest(
            maxWaitMs: KafkaConsumer.milliseconds(configuration.fetchMaxWait),
            minBytes: configuration.fetchMinBytes,
            maxBytes: configuration.fetchMaxBytes,
            isolationLevel: configuration.readCommitted ? 1 : 0,
            topics: partitions.groupedByTopic().map { topic in
                .init(
                    topic: topic.topic,
                    partitions: topic.partitions.map { partition in
                        .init(
                            partition: partition,
                            fetchOffset: positions[TopicPartition(topic: topic.topic, partition: partition)] ?? 0,
                            partitionMaxBytes: configuration.partitionMaxBytes
                        )
                    }
                )
            }
        )
        let timeout = configuration.fetchMaxWait + configuration.client.requestTimeout
        guard let response = await self.consumer.send(request, to: .node(leader), self.links, timeout: timeout) else {
            for topic in Set(partitions.map(\.topic)) { await self.links.cluster.markStale(topic) }
            return FetchRound(failed: true)
        }
        var round = FetchRound()
        if response.errorCode.isError {
            self.logger.warning("Kafka consumer: Fetch from node \(leader) failed: \(response.errorCode)")
            round.failed = true
        }
        for topic in response.topics {
            for partition in topic.partitions {
                let key = TopicPartition(topic: topic.topic, partition: partition.partitionIndex)
                guard let offset = positions[key] else { continue }
                switch partition.errorCode {
                case .none:
                    self.consumer.progress.fetched(key, highWatermark: partition.highWatermark)
                    round.fetched[key] = try FetchedRecords(
                        partition,
                        topic: topic.topic,
                        fetchOffset: offset,
                        readCommitted: configuration.readCommitted
                    )
                case .offsetOutOfRange:
                    // Deleted by retention, or the log was truncated: start again where the reset policy says.
                    let timestamp = configuration.offsetReset == .earliest ? ListOffsetsRequest.earliest : ListOffsetsRequest.latest
                    if let reset = await self.consumer.listOffsets([key], timestamp: timestamp, self.links)?[key] {
                        self.logger.warning("Kafka consumer: offset \(offset) of \(key) is out of range; starting again at \(reset)")
                        round.fetched[key] = FetchedRecords(records: [], nextOffset: reset)
                    } else {
                        round.failed = true
                    }
                default:
                    self.logger.warning("Kafka consumer: fetching \(key) from node \(leader) failed: \(partition.errorCode)")
                    await self.links.cluster.markStale(topic.topic)
                    round.failed = true
                }
            }
        }
        return round
    }

    private func backoff(_ failures: Int) -> Duration {
        min(self.configuration.retryBackoff * (1 << min(failures - 1, 16)), self.configuration.maximumRetryBackoff)
    }
}
