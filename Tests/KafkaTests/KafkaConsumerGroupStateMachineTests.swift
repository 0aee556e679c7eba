import NIOCore
import Testing

@testable import Kafka

private typealias Machine = KafkaConsumerGroupStateMachine

private let configuration = Machine.Configuration(
    groupID: "g",
    topics: ["t"],
    sessionTimeoutMs: 10_000,
    rebalanceTimeoutMs: 30_000,
    resetTimestamp: ListOffsetsRequest.earliest
)
private let coordinator = Machine.Coordinator(nodeID: 1, host: "h", port: 9092)
private let found = FindCoordinatorResponse(throttleTimeMs: 0, errorCode: .none, errorMessage: nil, nodeID: 1, host: "h", port: 9092)

private func join(memberID: String) throws -> Machine.Action {
    let metadata = try ConsumerProtocolSubscription(topics: ["t"]).encoded()
    return .join(
        JoinGroupRequest(
            groupID: "g",
            sessionTimeoutMs: 10_000,
            rebalanceTimeoutMs: 30_000,
            memberID: memberID,
            protocols: [.init(name: "range", metadata: metadata)]
        ),
        coordinator
    )
}

private func joined(
    _ errorCode: KafkaErrorCode = .none,
    memberID: String,
    leader: String = "",
    protocolName: String = "range",
    members: [String: [String]] = [:]
) throws -> JoinGroupResponse {
    JoinGroupResponse(
        throttleTimeMs: 0,
        errorCode: errorCode,
        generationID: 4,
        protocolName: protocolName,
        leader: leader,
        memberID: memberID,
        members: try members.sorted { $0.key < $1.key }.map { member, topics in
            .init(memberID: member, groupInstanceID: nil, metadata: try ConsumerProtocolSubscription(topics: topics).encoded())
        }
    )
}

private func synced(_ partitions: [Int32], _ errorCode: KafkaErrorCode = .none) throws -> SyncGroupResponse {
    let assignment = ConsumerProtocolAssignment(partitions: partitions.map { TopicPartition(topic: "t", partition: $0) })
    return SyncGroupResponse(throttleTimeMs: 0, errorCode: errorCode, assignment: try assignment.encoded())
}

private func partition(_ index: Int32) -> TopicPartition {
    TopicPartition(topic: "t", partition: index)
}

/// A machine consuming generation 4 as member "m", partitions 0 and 1 from offset 0.
private func consuming() throws -> Machine {
    var machine = Machine(configuration: configuration)
    _ = machine.start()
    _ = machine.coordinatorFound(found)
    _ = machine.joined(try joined(memberID: "m", leader: "other"))
    _ = machine.synced(try synced([0]))
    let offsets = OffsetFetchResponse(
        throttleTimeMs: 0,
        topics: [
            .init(name: "t", partitions: [.init(partitionIndex: 0, committedOffset: 0, committedLeaderEpoch: -1, metadata: nil, errorCode: .none)])
        ],
        errorCode: .none
    )
    _ = machine.offsetsFetched(offsets)
    return machine
}

@Suite struct KafkaConsumerGroupStateMachineTests {
    @Test func theLeaderJoinsAssignsSyncsAndStartsFromCommittedOrEarliestOffsets() throws {
        var machine = Machine(configuration: configuration)
        #expect(machine.start() == .findCoordinator(FindCoordinatorRequest(key: "g")))
        #expect(machine.coordinatorFound(found) == (try join(memberID: "")))
        // JoinGroup v4+: the first join is refused with the id to join with.
        #expect(machine.joined(try joined(.memberIDRequired, memberID: "m1")) == (try join(memberID: "m1")))
        #expect(machine.memberID == "m1")

        let response = try joined(memberID: "m1", leader: "m1", members: ["m2": ["t"], "m1": ["t", "u"]])
        #expect(machine.joined(response) == .readPartitionCounts(["t", "u"]))
        guard case .sync(let sync, coordinator) = machine.partitionCountsRead(["t": 3]) else {
            Issue.record("expected SyncGroup")
            return
        }
        #expect(sync.generationID == 4)
        #expect(sync.memberID == "m1")
        #expect(sync.assignments.map(\.memberID) == ["m1", "m2"])
        let shares = try sync.assignments.map { try ConsumerProtocolAssignment(decoding: $0.assignment).partitions }
        #expect(shares == [[partition(0), partition(1)], [partition(2)]])

        let fetch = OffsetFetchRequest(groupID: "g", topics: [.init(name: "t", partitionIndexes: [0, 1])])
        #expect(machine.synced(try synced([1, 0])) == .fetchOffsets(fetch, coordinator))
        let offsets = OffsetFetchResponse(
            throttleTimeMs: 0,
            topics: [
                .init(
                    name: "t",
                    partitions: [
                        .init(partitionIndex: 0, committedOffset: 5, committedLeaderEpoch: -1, metadata: nil, errorCode: .none),
                        .init(partitionIndex: 1, committedOffset: -1, committedLeaderEpoch: -1, metadata: nil, errorCode: .none),
                    ]
                )
            ],
            errorCode: .none
        )
        #expect(machine.offsetsFetched(offsets) == .resetOffsets([partition(1)], timestamp: ListOffsetsRequest.earliest))
        let generation = Machine.Generation(id: 4, memberID: "m1")
        // The leader watches what it assigned from: "u" had no partitions, so it was not assigned.
        let basis = KafkaAssignmentBasis(topics: ["t", "u"], partitionCounts: ["t": 3])
        #expect(
            machine.offsetsReset([partition(1): 2])
                == .consume(coordinator, generation, positions: [partition(0): 5, partition(1): 2], watching: basis)
        )
    }

    @Test func aFollowerWithNothingAssignedStillConsumesToHeartbeat() throws {
        var machine = Machine(configuration: configuration)
        _ = machine.start()
        _ = machine.coordinatorFound(found)
        let sync = SyncGroupRequest(groupID: "g", generationID: 4, memberID: "m", assignments: [])
        #expect(machine.joined(try joined(memberID: "m", leader: "other")) == .sync(sync, coordinator))
        let empty = SyncGroupResponse(throttleTimeMs: 0, errorCode: .none, assignment: ByteBuffer())
        #expect(machine.synced(empty) == .consume(coordinator, Machine.Generation(id: 4, memberID: "m"), positions: [:], watching: nil))
    }

    @Test func aLeaderWhoseTopicIsMissingConsumesNothingButWatchesForIt() throws {
        var machine = Machine(configuration: configuration)
        _ = machine.start()
        _ = machine.coordinatorFound(found)
        #expect(machine.joined(try joined(memberID: "m", leader: "m", members: ["m": ["t"], "n": ["t"]])) == .readPartitionCounts(["t"]))
        // "t" does not exist: nobody is assigned anything.
        guard case .sync(let sync, _) = machine.partitionCountsRead([:]) else {
            Issue.record("expected SyncGroup")
            return
        }
        #expect(try sync.assignments.map { try ConsumerProtocolAssignment(decoding: $0.assignment).partitions } == [[], []])
        let basis = KafkaAssignmentBasis(topics: ["t"], partitionCounts: [:])
        let generation = Machine.Generation(id: 4, memberID: "m")
        #expect(machine.synced(try synced([])) == .consume(coordinator, generation, positions: [:], watching: basis))
        // The watch saw "t" appear: the next generation has this member as a follower, which watches nothing.
        #expect(machine.consumingEnded(.rejoin) == (try join(memberID: "m")))
        _ = machine.joined(try joined(memberID: "m", leader: "n"))
        #expect(machine.synced(try synced([])) == .consume(coordinator, generation, positions: [:], watching: nil))
    }

    @Test func aRebalanceRejoinsWithTheSameMemberIDAndAnUnknownMemberAsANewOne() throws {
        var machine = try consuming()
        #expect(machine.consumingEnded(.rejoin) == (try join(memberID: "m")))
        machine = try consuming()
        #expect(machine.consumingEnded(.rejoinAsNewMember) == (try join(memberID: "")))
        // A rebalance that starts between join and sync: join again at once.
        machine = Machine(configuration: configuration)
        _ = machine.start()
        _ = machine.coordinatorFound(found)
        _ = machine.joined(try joined(memberID: "m", leader: "other"))
        #expect(machine.synced(try synced([], .rebalanceInProgress)) == (try join(memberID: "m")))
    }

    @Test func aLostCoordinatorIsFoundAgainWithGrowingBackoff() throws {
        var machine = Machine(configuration: configuration)
        _ = machine.start()
        var unavailable = found
        unavailable.errorCode = .coordinatorNotAvailable
        #expect(machine.coordinatorFound(unavailable) == .backoff(.milliseconds(100)))
        #expect(machine.backoffElapsed() == .findCoordinator(FindCoordinatorRequest(key: "g")))
        #expect(machine.coordinatorFound(unavailable) == .backoff(.milliseconds(200)))
        _ = machine.backoffElapsed()
        #expect(machine.coordinatorFound(found) == (try join(memberID: "")))
        // The connection to the coordinator fails during the join.
        #expect(machine.requestFailed() == .backoff(.milliseconds(400)))
        #expect(machine.state == .findingCoordinator)
        #expect(machine.backoffElapsed() == .findCoordinator(FindCoordinatorRequest(key: "g")))

        var consumer = try consuming()
        #expect(consumer.consumingEnded(.coordinatorLost) == .backoff(.milliseconds(100)))
        #expect(consumer.backoffElapsed() == .findCoordinator(FindCoordinatorRequest(key: "g")))
        var moved = Machine(configuration: configuration)
        _ = moved.start()
        _ = moved.coordinatorFound(found)
        #expect(moved.joined(try joined(.notCoordinator, memberID: "")) == .backoff(.milliseconds(100)))
        #expect(moved.state == .findingCoordinator)
    }

    @Test func backoffIsCapped() {
        var machine = Machine(configuration: configuration)
        _ = machine.start()
        var last: Machine.Action = .stop
        for _ in 0..<40 {
            last = machine.requestFailed()
        }
        #expect(last == .backoff(.seconds(5)))
    }

    @Test func shutdownLeavesTheGroupOnlyWhenAMember() throws {
        var machine = try consuming()
        #expect(machine.consumingEnded(.shutdown) == .leave(LeaveGroupRequest(groupID: "g", memberID: "m"), coordinator))
        #expect(machine.left() == .stop)
        var stranger = Machine(configuration: configuration)
        _ = stranger.start()
        #expect(stranger.shutdown() == .stop)
    }

    @Test func refusalsNoRetryMendsFail() throws {
        var machine = Machine(configuration: configuration)
        _ = machine.start()
        _ = machine.coordinatorFound(found)
        guard case .fail(let error) = machine.joined(try joined(.groupAuthorizationFailed, memberID: "")) else {
            Issue.record("expected a failure")
            return
        }
        #expect(error.message == "JoinGroup for group 'g' failed: GROUP_AUTHORIZATION_FAILED (30)")

        var leader = Machine(configuration: configuration)
        _ = leader.start()
        _ = leader.coordinatorFound(found)
        guard case .fail(let assignor) = leader.joined(try joined(memberID: "m", leader: "m", protocolName: "roundrobin")) else {
            Issue.record("expected a failure")
            return
        }
        #expect(assignor.message.contains("assignor 'roundrobin'"))
    }

    @Test func heartbeatAndCommitErrorsEndTheGeneration() {
        #expect(Machine.consumingEnd(for: .none) == nil)
        #expect(Machine.consumingEnd(for: .rebalanceInProgress) == .rejoin)
        #expect(Machine.consumingEnd(for: .illegalGeneration) == .rejoin)
        #expect(Machine.consumingEnd(for: .unknownMemberID) == .rejoinAsNewMember)
        #expect(Machine.consumingEnd(for: .notCoordinator) == .coordinatorLost)
        #expect(Machine.consumingEnd(for: .coordinatorNotAvailable) == .coordinatorLost)
    }

    @Test func anEventOutOfOrderFails() {
        var machine = Machine(configuration: configuration)
        _ = machine.start()
        guard case .fail(let error) = machine.offsetsReset([:]) else {
            Issue.record("expected a failure")
            return
        }
        #expect(error.code == .protocolError)
    }
}
