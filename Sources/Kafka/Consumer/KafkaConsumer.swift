import Logging
import NIOCore
import ServiceLifecycle
import Synchronization

/// A member of a consumer group (classic protocol, "range" assignor, so it shares a group with librdkafka
/// and the Java client): it reads the partitions the group assigns it and commits their offsets only after
/// the handler has processed the records.
///
/// Delivery is at least once: a record is committed only after the handler call that got it returned, so a
/// crash, a failed commit or a rebalance between the two delivers it again (to this consumer or another).
/// Transient failures — a broker down or stalled, a moved leader or coordinator — are logged and retried
/// with backoff; `run` throws only for what no retry can mend.
public final class KafkaConsumer: Sendable {
    public struct Configuration: Sendable {
        /// Where a partition without a committed offset starts.
        public enum OffsetReset: Sendable, Hashable {
            case earliest
            case latest
        }

        /// The brokers, client id and per-request deadline (which every call but JoinGroup keeps).
        public var client: KafkaClientConfiguration
        public var groupID: String
        public var topics: [String]
        /// The coordinator drops a member it has not heard from for this long.
        public var sessionTimeout: Duration = .seconds(10)
        /// How long the coordinator waits for every member to rejoin in a rebalance; also the longest a
        /// handler call can take without holding up the group's rebalance.
        public var rebalanceTimeout: Duration = .seconds(30)
        /// How long a JoinGroup may be held by the coordinator: the longest rebalance timeout of any member
        /// of the group (the Java client's and librdkafka's is `max.poll.interval.ms`, 5 min by default).
        /// The JoinGroup deadline is the longer of this and `rebalanceTimeout`, plus the request timeout.
        public var joinGroupTimeout: Duration = .seconds(300)
        public var heartbeatInterval: Duration = .seconds(1)
        /// How long a broker may hold a Fetch while fewer than `fetchMinBytes` are available.
        public var fetchMaxWait: Duration = .milliseconds(500)
        public var fetchMinBytes: Int32 = 1
        public var fetchMaxBytes: Int32 = 50 * 1024 * 1024
        public var partitionMaxBytes: Int32 = 1024 * 1024
        public var offsetReset: OffsetReset = .earliest
        /// Whether records of aborted (and still open) transactions are withheld.
        public var readCommitted = true
        /// The first wait after a failure; it doubles per consecutive failure up to `maximumRetryBackoff`.
        public var retryBackoff: Duration = .milliseconds(100)
        public var maximumRetryBackoff: Duration = .seconds(5)

        public init(client: KafkaClientConfiguration, groupID: String, topics: [String]) {
            self.client = client
            self.groupID = groupID
            self.topics = topics
        }
    }

    public typealias Handler = @Sendable ([KafkaConsumerRecord]) async throws -> Void

    public let configuration: Configuration
    private let logger: Logger
    private let running = Atomic<Bool>(false)
    let progress = KafkaConsumerProgress()

    public init(configuration: Configuration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
    }

    /// Runs until the task is cancelled or graceful shutdown (swift-service-lifecycle), calling `handler`
    /// with each fetched batch of records (each partition's in offset order).
    ///
    /// Offsets are committed only after `handler` returned without throwing. When it throws, the same records
    /// are delivered again after a backoff, uncommitted. On graceful shutdown the batch in hand is finished and
    /// committed and the consumer leaves the group; on cancellation it stops at once (the handler sees the
    /// cancellation) and the coordinator drops it after the session timeout.
    ///
    /// - Throws: `.invalidArgument` for a configuration that cannot work or a second concurrent `run`;
    ///   `.brokerError` for a refusal no retry can mend (e.g. GROUP_AUTHORIZATION_FAILED);
    ///   `.unsupportedCompression` or `.corruptRecord` for records it cannot decode.
    public func run(_ handler: @escaping Handler) async throws {
        try self.validate()
        guard !self.running.exchange(true, ordering: .relaxed) else {
            throw KafkaError(.invalidArgument, message: "the Kafka consumer is already running")
        }
        defer {
            self.progress.released()
            self.running.store(false, ordering: .relaxed)
        }
        var client = self.configuration.client
        // A Fetch may be held for the fetch wait: the cluster's connections allow that on top of the request
        // timeout; every other call passes `client.requestTimeout` as its own deadline.
        client.requestTimeout = self.configuration.client.requestTimeout + self.configuration.fetchMaxWait
        let cluster = KafkaCluster(configuration: client, logger: self.logger)
        var coordinatorConfiguration = self.configuration.client.connection
        coordinatorConfiguration.requestTimeout = TimeAmount(self.joinGroupDeadline)
        let links = KafkaConsumerLinks(
            cluster: cluster,
            coordinator: KafkaCoordinatorConnection(configuration: coordinatorConfiguration, logger: self.logger)
        )
        let shutdown = KafkaConsumerSignal()
        do {
            try await withGracefulShutdownHandler {
                try await self.runGroup(links, handler: handler, shutdown: shutdown)
            } onGracefulShutdown: {
                shutdown.raise(.shutdown)
            }
        } catch {
            await links.close()
            throw error
        }
        await links.close()
    }

    /// The lag of each partition this consumer holds now (committed offset against the high watermark of
    /// its last Fetch); empty while it holds none or is not running.
    public var lag: [KafkaPartitionLag] { self.progress.lags }

    private var joinGroupDeadline: Duration {
        max(self.configuration.joinGroupTimeout, self.configuration.rebalanceTimeout) + self.configuration.client.requestTimeout
    }

    private func validate() throws {
        let configuration = self.configuration
        guard !configuration.groupID.isEmpty else {
            throw KafkaError(.invalidArgument, message: "the consumer's group id is empty")
        }
        guard !configuration.topics.isEmpty, !configuration.topics.contains("") else {
            throw KafkaError(.invalidArgument, message: "the consumer subscribes to no topic, or to one with an empty name")
        }
        guard configuration.heartbeatInterval < configuration.sessionTimeout else {
            throw KafkaError(
                .invalidArgument,
                message: "the heartbeat interval (\(configuration.heartbeatInterval)) must be shorter than the session timeout "
                    + "(\(configuration.sessionTimeout))"
            )
        }
    }

    // MARK: Membership

    private func runGroup(_ links: KafkaConsumerLinks, handler: @escaping Handler, shutdown: KafkaConsumerSignal) async throws {
        var machine = KafkaConsumerGroupStateMachine(
            configuration: .init(
                groupID: self.configuration.groupID,
                topics: self.configuration.topics,
                sessionTimeoutMs: Self.milliseconds(self.configuration.sessionTimeout),
                rebalanceTimeoutMs: Self.milliseconds(self.configuration.rebalanceTimeout),
                resetTimestamp: self.configuration.offsetReset == .earliest ? ListOffsetsRequest.earliest : ListOffsetsRequest.latest,
                initialBackoff: self.configuration.retryBackoff,
                maximumBackoff: self.configuration.maximumRetryBackoff
            )
        )
        var action = machine.start()
        var topicWait: Duration?
        var missingTopicsLogged: [String]?
        while true {
            if shutdown.raised != nil {
                switch action {
                case .leave, .stop, .fail: break
                default: action = machine.shutdown()
                }
            }
            switch action {
            case .findCoordinator(let request):
                action = await self.send(request, to: .anyBroker, links).map { machine.coordinatorFound($0) } ?? machine.requestFailed()
            case .join(let request, let coordinator):
                // A member that joins while a subscribed topic is missing gets nothing of it, and has to count on a
                // rebalance later; so it waits for the topics first (a broker without persistent storage that
                // restarted has none until the producer creates them again).
                if let missing = await self.missingTopics(links.cluster) {
                    if missingTopicsLogged != missing {
                        self.logger.warning(
                            "Kafka consumer: waiting for subscribed topic(s) \(missing.joined(separator: ", ")) to exist before joining the group"
                        )
                        missingTopicsLogged = missing
                    }
                    topicWait = min((topicWait ?? self.configuration.retryBackoff / 2) * 2, self.configuration.maximumRetryBackoff)
                    let wait = topicWait ?? self.configuration.retryBackoff
                    // Graceful shutdown ends the wait: the loop's top then leaves the group.
                    try? await cancelWhenGracefulShutdown { try await Task.sleep(for: wait) }
                    if Task.isCancelled { return }
                    continue
                }
                topicWait = nil
                missingTopicsLogged = nil
                // Held until the whole group rejoined, which may take minutes: graceful shutdown does not wait for it.
                let deadline = self.joinGroupDeadline
                let response = await cancelWhenGracefulShutdown {
                    await self.send(request, to: .coordinator(coordinator), links, timeout: deadline)
                }
                action = response.map { machine.joined($0) } ?? machine.requestFailed()
            case .readPartitionCounts(let topics):
                action =
                    await self.partitionCounts(of: topics, links.cluster).map { machine.partitionCountsRead($0) } ?? machine.requestFailed()
            case .sync(let request, let coordinator):
                action = await self.send(request, to: .coordinator(coordinator), links).map { machine.synced($0) } ?? machine.requestFailed()
            case .fetchOffsets(let request, let coordinator):
                action =
                    await self.send(request, to: .coordinator(coordinator), links).map { machine.offsetsFetched($0) }
                    ?? machine.requestFailed()
            case .resetOffsets(let partitions, let timestamp):
                action = await self.listOffsets(partitions, timestamp: timestamp, links).map { machine.offsetsReset($0) } ?? machine.requestFailed()
            case .consume(let coordinator, let generation, let positions, let basis):
                self.logger.info(
                    "Kafka consumer joined a generation of its group",
                    metadata: [
                        "kafka.group": "\(self.configuration.groupID)", "kafka.generation": "\(generation.id)",
                        "kafka.member": "\(generation.memberID)", "kafka.partitions": "\(positions.keys.sorted())",
                    ]
                )
                let session = KafkaConsumerSession(
                    consumer: self,
                    links: links,
                    coordinator: coordinator,
                    generation: generation,
                    handler: handler,
                    shutdown: shutdown
                )
                guard let end = try await session.run(from: positions, watching: basis) else { return }  // cancelled
                action = machine.consumingEnded(end)
            case .backoff(let delay):
                do {
                    try await Task.sleep(for: delay)
                } catch {
                    return  // cancelled
                }
                action = machine.backoffElapsed()
            case .leave(let request, let coordinator):
                _ = await self.send(request, to: .coordinator(coordinator), links)
                action = machine.left()
            case .stop:
                return
            case .fail(let error):
                throw error
            }
        }
    }

    /// The leader's partition counts; a topic that does not exist is left out (and so not assigned),
    /// any other failure gives nil, so the leader does not hand out an assignment missing a topic.
    /// Read afresh: the leader later compares the metadata with these counts, and a cached count would
    /// make it rebalance again for nothing.
    private func partitionCounts(of topics: [String], _ cluster: KafkaCluster) async -> [String: Int32]? {
        var counts: [String: Int32] = [:]
        for topic in topics {
            do {
                counts[topic] = try await cluster.topic(topic, refresh: true).partitionCount
            } catch let error as KafkaError where error.brokerCode == .unknownTopicOrPartition {
                self.logger.warning("Kafka consumer: subscribed topic '\(topic)' does not exist; not assigned")
            } catch {
                if !Task.isCancelled {
                    self.logger.warning("Kafka consumer: cannot read the partitions of '\(topic)': \(Self.reason(error))")
                }
                return nil
            }
        }
        return counts
    }

    /// The subscribed topics the broker says do not exist, or nil when none is missing (or the metadata could not
    /// be read: JoinGroup then goes ahead and fails or succeeds on its own).
    private func missingTopics(_ cluster: KafkaCluster) async -> [String]? {
        var missing: [String] = []
        for topic in self.configuration.topics {
            do {
                _ = try await cluster.topic(topic, refresh: true)
            } catch let error as KafkaError where error.brokerCode == .unknownTopicOrPartition {
                missing.append(topic)
            } catch {
                return nil
            }
        }
        return missing.isEmpty ? nil : missing
    }

    // MARK: Requests

    /// Where a request goes.
    enum Destination: Sendable {
        case anyBroker
        case node(Int32)
        case coordinator(KafkaConsumerGroupStateMachine.Coordinator)
    }

    /// Sends `request` with the request timeout, or `timeout`. Returns nil after logging when it fails
    /// (connection lost, deadline passed, task cancelled).
    func send<Request: KafkaRequest>(
        _ request: Request,
        to destination: Destination,
        _ links: KafkaConsumerLinks,
        timeout: Duration? = nil
    ) async -> Request.Response? {
        do {
            let connection =
                switch destination {
                case .anyBroker: try await links.cluster.anyConnection()
                case .node(let node): try await links.cluster.connection(toNode: node)
                case .coordinator(let coordinator): try await links.coordinator.connection(to: coordinator)
                }
            return try await connection.send(request, timeout: TimeAmount(timeout ?? self.configuration.client.requestTimeout))
        } catch {
            guard !Task.isCancelled else { return nil }
            if case .node(let node) = destination, let error = error as? KafkaError, error.code == .timeout || error.code == .protocolError {
                await links.cluster.dropConnection(toNode: node)
            }
            self.logger.warning("Kafka consumer: \(Request.apiKey) failed: \(Self.reason(error))")
            return nil
        }
    }

    /// The offsets at `timestamp` (earliest or latest) of `partitions`, asked of their leaders; nil when any failed.
    func listOffsets(_ partitions: [TopicPartition], timestamp: Int64, _ links: KafkaConsumerLinks) async -> [TopicPartition: Int64]? {
        guard let byLeader = await self.leaders(of: partitions, links.cluster) else { return nil }
        var offsets: [TopicPartition: Int64] = [:]
        for (leader, led) in byLeader {
            let request = ListOffsetsRequest(
                isolationLevel: self.configuration.readCommitted ? 1 : 0,
                topics: led.groupedByTopic().map { topic in
                    .init(name: topic.topic, partitions: topic.partitions.map { .init(partitionIndex: $0, timestamp: timestamp) })
                }
            )
            guard let response = await self.send(request, to: .node(leader), links) else { return nil }
            for topic in response.topics {
                for partition in topic.partitions {
                    guard !partition.errorCode.isError else {
                        self.logger.warning("Kafka consumer: ListOffsets of \(topic.name)-\(partition.partitionIndex): \(partition.errorCode)")
                        await links.cluster.markStale(topic.name)
                        return nil
                    }
                    offsets[TopicPartition(topic: topic.name, partition: partition.partitionIndex)] = partition.offset
                }
            }
        }
        return offsets
    }

    /// `partitions` by the node leading each; nil (after marking the metadata stale) when one has no leader.
    func leaders(of partitions: some Sequence<TopicPartition>, _ cluster: KafkaCluster) async -> [Int32: [TopicPartition]]? {
        var byLeader: [Int32: [TopicPartition]] = [:]
        for partition in partitions {
            do {
                let topic = try await cluster.topic(partition.topic)
                let index = Int(partition.partition)
                guard topic.leaders.indices.contains(index), topic.leaders[index] >= 0 else {
                    self.logger.warning("Kafka consumer: \(partition) has no leader")
                    await cluster.markStale(partition.topic)
                    return nil
                }
                byLeader[topic.leaders[index], default: []].append(partition)
            } catch {
                self.logger.warning("Kafka consumer: no metadata for \(partition.topic): \(Self.reason(error))")
                return nil
            }
        }
        return byLeader
    }

    static func milliseconds(_ duration: Duration) -> Int32 {
        let (seconds, attoseconds) = duration.components
        return Int32(clamping: seconds * 1000 + attoseconds / 1_000_000_000_000_000)
    }

    static func reason(_ error: any Error) -> String {
        (error as? KafkaError)?.message ?? "\(error)"
    }

    var log: Logger { self.logger }
}

/// The cluster's connections (metadata, partition leaders) and the coordinator's.
struct KafkaConsumerLinks: Sendable {
    let cluster: KafkaCluster
    let coordinator: KafkaCoordinatorConnection

    func close() async {
        await self.coordinator.close()
        await self.cluster.shutdown()
    }
}

/// Set by graceful shutdown or by the heartbeat; the fetch loop reads it between batches.
final class KafkaConsumerSignal: Sendable {
    private let end = Mutex<KafkaConsumerGroupStateMachine.ConsumingEnd?>(nil)

    /// The first reason raised wins, except that shutdown overrides a rebalance.
    func raise(_ end: KafkaConsumerGroupStateMachine.ConsumingEnd) {
        self.end.withLock { current in
            if current == nil || end == .shutdown { current = end }
        }
    }

    var raised: KafkaConsumerGroupStateMachine.ConsumingEnd? {
        self.end.withLock { $0 }
    }
}
