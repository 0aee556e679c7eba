import NIOCore

/// Membership of one consumer in a group (the classic protocol): find the coordinator, join, sync the
/// assignment, read the committed offsets, then consume until the generation ends, and leave on shutdown.
///
/// A plain value, as `KafkaChannelHandler.StateMachine`: each event returns the next action and `KafkaConsumer`
/// does it (sends, sleeps), so tests drive the whole membership with responses and no sockets.
/// Consuming itself (fetch, handler, commit, heartbeats) is the consumer's loop; its end comes back as `consumingEnded`.
struct KafkaConsumerGroupStateMachine {
    struct Configuration: Sendable, Hashable {
        var groupID: String
        var topics: [String]
        var sessionTimeoutMs: Int32
        var rebalanceTimeoutMs: Int32
        /// `ListOffsetsRequest.earliest` or `.latest`: where a partition without a committed offset starts.
        var resetTimestamp: Int64
        var initialBackoff: Duration = .milliseconds(100)
        var maximumBackoff: Duration = .seconds(5)
    }

    /// The group's coordinator, from FindCoordinator.
    struct Coordinator: Sendable, Hashable {
        var nodeID: Int32
        var host: String
        var port: Int32
    }

    /// One generation of the group, as this member joined it.
    struct Generation: Sendable, Hashable {
        var id: Int32
        var memberID: String
    }

    /// Why consuming a generation stopped.
    enum ConsumingEnd: Sendable, Hashable {
        /// REBALANCE_IN_PROGRESS or ILLEGAL_GENERATION: join the next generation with the same member id.
        case rejoin
        /// UNKNOWN_MEMBER_ID: the coordinator forgot this member; join as a new one.
        case rejoinAsNewMember
        /// NOT_COORDINATOR, COORDINATOR_NOT_AVAILABLE, or the coordinator cannot be reached: find it again.
        case coordinatorLost
        /// Graceful shutdown: the batch in hand was committed; leave the group.
        case shutdown
    }

    enum State: Sendable, Hashable {
        case findingCoordinator
        case joining(Coordinator)
        /// The leader, waiting for the partition counts of the members' topics.
        case assigning(Coordinator, Generation, subscriptions: [String: [String]])
        case syncing(Coordinator, Generation)
        case fetchingOffsets(Coordinator, Generation, assignment: [TopicPartition])
        case resettingOffsets(Coordinator, Generation, positions: [TopicPartition: Int64], missing: [TopicPartition])
        case consuming(Coordinator, Generation)
        case leaving
        case stopped
    }

    enum Action: Sendable, Hashable {
        /// Send FindCoordinator to any broker.
        case findCoordinator(FindCoordinatorRequest)
        /// Send JoinGroup to the coordinator; the broker holds it up to the rebalance timeout.
        case join(JoinGroupRequest, Coordinator)
        /// The leader: read the partition counts of these topics, then call `partitionCountsRead`.
        case readPartitionCounts([String])
        case sync(SyncGroupRequest, Coordinator)
        case fetchOffsets(OffsetFetchRequest, Coordinator)
        /// Send ListOffsets at the reset timestamp for these partitions, to their leaders; then `offsetsReset`.
        case resetOffsets([TopicPartition], timestamp: Int64)
        /// Fetch, hand over and commit from these positions, with heartbeats, until the generation ends.
        /// The leader also watches the metadata its assignment was computed from (`watching`; nil for the
        /// other members) and ends the generation with `.rejoin` when it changes.
        case consume(Coordinator, Generation, positions: [TopicPartition: Int64], watching: KafkaAssignmentBasis?)
        /// Wait, then call `backoffElapsed` (which repeats the request of the current state).
        case backoff(Duration)
        case leave(LeaveGroupRequest, Coordinator)
        /// Done: the group was left, or never joined.
        case stop
        /// A failure no retry can mend (e.g. an authorization failure, or an assignor nobody else speaks).
        case fail(KafkaError)
    }

    let configuration: Configuration
    private(set) var state: State = .findingCoordinator
    /// Kept across generations; empty until the coordinator gives one.
    private(set) var memberID = ""
    private var failures = 0
    /// What this member computed the current generation's assignment from, when it is the leader.
    private var assignmentBasis: KafkaAssignmentBasis?

    init(configuration: Configuration) {
        self.configuration = configuration
    }

    // MARK: Events

    mutating func start() -> Action {
        self.state = .findingCoordinator
        return .findCoordinator(FindCoordinatorRequest(key: self.configuration.groupID))
    }

    mutating func coordinatorFound(_ response: FindCoordinatorResponse) -> Action {
        guard case .findingCoordinator = self.state else { return self.unexpected("FindCoordinator response") }
        switch response.errorCode {
        case .none:
            let coordinator = Coordinator(nodeID: response.nodeID, host: response.host, port: response.port)
            self.state = .joining(coordinator)
            return self.joinAction(coordinator)
        case .coordinatorNotAvailable, .coordinatorLoadInProgress, .notCoordinator:
            return self.backoff()
        default:
            return self.fatalOrRetry(response.errorCode, "FindCoordinator", detail: response.errorMessage)
        }
    }

    mutating func joined(_ response: JoinGroupResponse) -> Action {
        guard case .joining(let coordinator) = self.state else { return self.unexpected("JoinGroup response") }
        switch response.errorCode {
        case .none:
            break
        case .memberIDRequired:
            // v4+: a new member learns its id from the refusal and joins again with it at once.
            self.memberID = response.memberID
            return self.joinAction(coordinator)
        case .unknownMemberID:
            self.memberID = ""
            return self.backoff()
        case .rebalanceInProgress, .illegalGeneration:
            return self.backoff()
        case .notCoordinator, .coordinatorNotAvailable, .coordinatorLoadInProgress:
            return self.rediscover()
        default:
            return self.fatalOrRetry(response.errorCode, "JoinGroup")
        }
        self.memberID = response.memberID
        self.assignmentBasis = nil
        let generation = Generation(id: response.generationID, memberID: response.memberID)
        guard response.leader == response.memberID else {
            self.state = .syncing(coordinator, generation)
            return self.syncAction(coordinator, generation, assignments: [])
        }
        guard response.protocolName == KafkaRangeAssignor.name else {
            return self.failed(
                KafkaError(
                    .protocolError,
                    message: "the coordinator chose assignor '\(response.protocolName)' for group '\(self.configuration.groupID)', "
                        + "but this consumer offered only '\(KafkaRangeAssignor.name)'"
                )
            )
        }
        var subscriptions: [String: [String]] = [:]
        for member in response.members {
            do {
                subscriptions[member.memberID] = try ConsumerProtocolSubscription(decoding: member.metadata).topics
            } catch {
                return self.failed(KafkaError(.protocolError, message: "member \(member.memberID)'s subscription: \(error)"))
            }
        }
        self.state = .assigning(coordinator, generation, subscriptions: subscriptions)
        return .readPartitionCounts(Set(subscriptions.values.joined()).sorted())
    }

    /// The leader read the partition counts (topics it could not read are left out, and so not assigned).
    mutating func partitionCountsRead(_ partitionCounts: [String: Int32]) -> Action {
        guard case .assigning(let coordinator, let generation, let subscriptions) = self.state else {
            return self.unexpected("partition counts")
        }
        let assignment = KafkaRangeAssignor.assign(subscriptions: subscriptions, partitionCounts: partitionCounts)
        self.assignmentBasis = KafkaAssignmentBasis(topics: subscriptions.values.joined(), partitionCounts: partitionCounts)
        var assignments: [SyncGroupRequest.Assignment] = []
        for (member, partitions) in assignment.sorted(by: { $0.key < $1.key }) {
            do {
                assignments.append(.init(memberID: member, assignment: try ConsumerProtocolAssignment(partitions: partitions).encoded()))
            } catch {
                return self.failed(KafkaError(.invalidArgument, message: "the assignment of member \(member): \(error)"))
            }
        }
        self.state = .syncing(coordinator, generation)
        return self.syncAction(coordinator, generation, assignments: assignments)
    }

    mutating func synced(_ response: SyncGroupResponse) -> Action {
        guard case .syncing(let coordinator, let generation) = self.state else { return self.unexpected("SyncGroup response") }
        if let action = self.generationError(response.errorCode, coordinator, "SyncGroup") { return action }
        let assignment: ConsumerProtocolAssignment
        do {
            assignment = try ConsumerProtocolAssignment(decoding: response.assignment)
        } catch {
            return self.failed(KafkaError(.protocolError, message: "the assignment from SyncGroup: \(error)"))
        }
        // A leader of another client may hand out topics this consumer did not ask for; they are not consumed.
        let wanted = Set(self.configuration.topics)
        let partitions = assignment.partitions.filter { wanted.contains($0.topic) }
        guard !partitions.isEmpty else {
            // Nothing to consume, but the heartbeat keeps the membership and hears of the next rebalance.
            return self.consume(coordinator, generation, [:])
        }
        self.state = .fetchingOffsets(coordinator, generation, assignment: partitions)
        return self.fetchOffsetsAction(coordinator, partitions)
    }

    mutating func offsetsFetched(_ response: OffsetFetchResponse) -> Action {
        guard case .fetchingOffsets(let coordinator, let generation, let assignment) = self.state else {
            return self.unexpected("OffsetFetch response")
        }
        if let action = self.coordinatorError(response.errorCode) { return action }
        var positions: [TopicPartition: Int64] = [:]
        for topic in response.topics {
            for partition in topic.partitions {
                if let action = self.coordinatorError(partition.errorCode) { return action }
                if partition.committedOffset >= 0 {
                    positions[TopicPartition(topic: topic.name, partition: partition.partitionIndex)] = partition.committedOffset
                }
            }
        }
        positions = positions.filter { assignment.contains($0.key) }
        let missing = assignment.filter { positions[$0] == nil }
        guard missing.isEmpty else {
            self.state = .resettingOffsets(coordinator, generation, positions: positions, missing: missing)
            return .resetOffsets(missing, timestamp: self.configuration.resetTimestamp)
        }
        return self.consume(coordinator, generation, positions)
    }

    /// The offsets found by ListOffsets for the partitions without a committed offset.
    mutating func offsetsReset(_ offsets: [TopicPartition: Int64]) -> Action {
        guard case .resettingOffsets(let coordinator, let generation, var positions, let missing) = self.state else {
            return self.unexpected("ListOffsets result")
        }
        for partition in missing {
            guard let offset = offsets[partition] else { return self.backoff() }
            positions[partition] = offset
        }
        return self.consume(coordinator, generation, positions)
    }

    /// A request of the current state failed without a response (connection lost, timeout) or with a broker
    /// error the consumer saw (e.g. ListOffsets' NOT_LEADER_OR_FOLLOWER): the coordinator's requests find it
    /// again, others are retried, after a backoff either way.
    mutating func requestFailed() -> Action {
        switch self.state {
        case .findingCoordinator, .assigning, .resettingOffsets:
            return self.backoff()
        case .joining, .syncing, .fetchingOffsets, .consuming:
            return self.rediscover()
        case .leaving, .stopped:
            self.state = .stopped
            return .stop
        }
    }

    mutating func backoffElapsed() -> Action {
        switch self.state {
        case .findingCoordinator:
            return .findCoordinator(FindCoordinatorRequest(key: self.configuration.groupID))
        case .joining(let coordinator):
            return self.joinAction(coordinator)
        case .assigning(let coordinator, _, _), .syncing(let coordinator, _), .consuming(let coordinator, _):
            // Past the join, the generation may be gone: join again rather than repeat.
            self.state = .joining(coordinator)
            return self.joinAction(coordinator)
        case .fetchingOffsets(let coordinator, _, let assignment):
            return self.fetchOffsetsAction(coordinator, assignment)
        case .resettingOffsets(_, _, _, let missing):
            return .resetOffsets(missing, timestamp: self.configuration.resetTimestamp)
        case .leaving, .stopped:
            self.state = .stopped
            return .stop
        }
    }

    mutating func consumingEnded(_ end: ConsumingEnd) -> Action {
        guard case .consuming(let coordinator, _) = self.state else { return self.unexpected("end of consuming") }
        switch end {
        case .rejoin:
            self.state = .joining(coordinator)
            return self.joinAction(coordinator)
        case .rejoinAsNewMember:
            self.memberID = ""
            self.state = .joining(coordinator)
            return self.joinAction(coordinator)
        case .coordinatorLost:
            return self.rediscover()
        case .shutdown:
            return self.shutdown()
        }
    }

    /// Graceful shutdown: leave the group when this consumer is a member of it, else stop.
    mutating func shutdown() -> Action {
        switch self.state {
        case .joining(let coordinator), .assigning(let coordinator, _, _), .syncing(let coordinator, _),
            .fetchingOffsets(let coordinator, _, _), .resettingOffsets(let coordinator, _, _, _), .consuming(let coordinator, _):
            guard !self.memberID.isEmpty else { break }
            self.state = .leaving
            return .leave(LeaveGroupRequest(groupID: self.configuration.groupID, memberID: self.memberID), coordinator)
        case .findingCoordinator, .leaving, .stopped:
            break
        }
        self.state = .stopped
        return .stop
    }

    /// LeaveGroup was answered (whatever the answer: the session timeout removes the member anyway).
    mutating func left() -> Action {
        self.state = .stopped
        return .stop
    }

    // MARK: Error codes while consuming

    /// How a Heartbeat's or OffsetCommit's error code ends the generation, nil when it does not.
    static func consumingEnd(for errorCode: KafkaErrorCode) -> ConsumingEnd? {
        switch errorCode {
        case .none: nil
        case .rebalanceInProgress, .illegalGeneration: .rejoin
        case .unknownMemberID: .rejoinAsNewMember
        // Anything else (NOT_COORDINATOR, COORDINATOR_NOT_AVAILABLE, …): start over from the coordinator.
        default: .coordinatorLost
        }
    }

    // MARK: Helpers

    private func joinAction(_ coordinator: Coordinator) -> Action {
        let metadata: ByteBuffer
        do {
            metadata = try ConsumerProtocolSubscription(topics: self.configuration.topics).encoded()
        } catch {
            return .fail(KafkaError(.invalidArgument, message: "the subscription cannot be encoded: \(error)"))
        }
        let request = JoinGroupRequest(
            groupID: self.configuration.groupID,
            sessionTimeoutMs: self.configuration.sessionTimeoutMs,
            rebalanceTimeoutMs: self.configuration.rebalanceTimeoutMs,
            memberID: self.memberID,
            protocols: [.init(name: KafkaRangeAssignor.name, metadata: metadata)]
        )
        return .join(request, coordinator)
    }

    private func syncAction(_ coordinator: Coordinator, _ generation: Generation, assignments: [SyncGroupRequest.Assignment]) -> Action {
        .sync(
            SyncGroupRequest(
                groupID: self.configuration.groupID,
                generationID: generation.id,
                memberID: generation.memberID,
                assignments: assignments
            ),
            coordinator
        )
    }

    private func fetchOffsetsAction(_ coordinator: Coordinator, _ partitions: [TopicPartition]) -> Action {
        let topics = partitions.groupedByTopic().map { OffsetFetchRequest.Topic(name: $0.topic, partitionIndexes: $0.partitions) }
        return .fetchOffsets(OffsetFetchRequest(groupID: self.configuration.groupID, topics: topics), coordinator)
    }

    private mutating func consume(_ coordinator: Coordinator, _ generation: Generation, _ positions: [TopicPartition: Int64]) -> Action {
        self.failures = 0
        self.state = .consuming(coordinator, generation)
        return .consume(coordinator, generation, positions: positions, watching: self.assignmentBasis)
    }

    /// SyncGroup's errors: the generation is over (rejoin) or the coordinator moved; nil for none.
    private mutating func generationError(_ errorCode: KafkaErrorCode, _ coordinator: Coordinator, _ request: String) -> Action? {
        switch errorCode {
        case .none:
            return nil
        case .rebalanceInProgress, .illegalGeneration:
            self.state = .joining(coordinator)
            return self.joinAction(coordinator)
        case .unknownMemberID:
            self.memberID = ""
            self.state = .joining(coordinator)
            return self.backoff()
        case .notCoordinator, .coordinatorNotAvailable, .coordinatorLoadInProgress:
            return self.rediscover()
        default:
            return self.fatalOrRetry(errorCode, request)
        }
    }

    /// OffsetFetch's errors: a moved coordinator is found again, one still loading is asked again; nil for none.
    private mutating func coordinatorError(_ errorCode: KafkaErrorCode) -> Action? {
        switch errorCode {
        case .none:
            return nil
        case .coordinatorLoadInProgress, .unstableOffsetCommit:
            return self.backoff()
        case .notCoordinator, .coordinatorNotAvailable:
            return self.rediscover()
        default:
            // E.g. ILLEGAL_GENERATION from a newer broker: join again.
            return self.fatalOrRetry(errorCode, "OffsetFetch")
        }
    }

    private mutating func rediscover() -> Action {
        self.state = .findingCoordinator
        return self.backoff()
    }

    /// Authorization failures and refused settings cannot be mended by retrying; anything else is retried.
    private mutating func fatalOrRetry(_ errorCode: KafkaErrorCode, _ request: String, detail: String? = nil) -> Action {
        let fatal: Set<KafkaErrorCode> = [
            .groupAuthorizationFailed, .topicAuthorizationFailed, .invalidGroupID, .invalidSessionTimeout, .inconsistentGroupProtocol,
            .unsupportedVersion,
        ]
        guard fatal.contains(errorCode) else {
            if case .findingCoordinator = self.state {
                return self.backoff()
            }
            return self.rediscover()
        }
        let suffix = detail.map { ": \($0)" } ?? ""
        return self.failed(KafkaError(.brokerError, message: "\(request) for group '\(self.configuration.groupID)' failed: \(errorCode)\(suffix)"))
    }

    private mutating func failed(_ error: KafkaError) -> Action {
        self.state = .stopped
        return .fail(error)
    }

    private mutating func unexpected(_ event: String) -> Action {
        self.failed(KafkaError(.protocolError, message: "consumer group '\(self.configuration.groupID)': \(event) in state \(self.state)"))
    }

    /// Exponential, from the initial backoff up to the maximum.
    private mutating func backoff() -> Action {
        let exponent = min(self.failures, 16)
        self.failures += 1
        return .backoff(min(self.configuration.initialBackoff * (1 << exponent), self.configuration.maximumBackoff))
    }
}
