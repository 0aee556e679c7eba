import NIOCore
import Testing

@testable import Kafka

@Suite struct ConsumerMessagesTests {
    // MARK: Versions

    @Test func versionsAreTheOnesEveryTargetBrokerAccepts() throws {
        // tansu 0.6's ranges; Kafka 4.0 dropped Fetch <4, JoinGroup <2, OffsetCommit <2, OffsetFetch <1, ListOffsets <1.
        let tansu = KafkaAPIVersions([
            .fetch: 0...17, .listOffsets: 0...9, .offsetCommit: 0...9, .offsetFetch: 0...9, .findCoordinator: 0...6,
            .joinGroup: 0...9, .heartbeat: 0...4, .leaveGroup: 0...5, .syncGroup: 0...5,
        ])
        #expect(try tansu.negotiate(FetchRequest.self) == 11)
        #expect(try tansu.negotiate(ListOffsetsRequest.self) == 5)
        #expect(try tansu.negotiate(OffsetCommitRequest.self) == 7)
        #expect(try tansu.negotiate(OffsetFetchRequest.self) == 5)
        #expect(try tansu.negotiate(FindCoordinatorRequest.self) == 3)
        #expect(try tansu.negotiate(JoinGroupRequest.self) == 5)
        #expect(try tansu.negotiate(HeartbeatRequest.self) == 3)
        #expect(try tansu.negotiate(LeaveGroupRequest.self) == 2)
        #expect(try tansu.negotiate(SyncGroupRequest.self) == 3)
        let kafka4 = KafkaAPIVersions([.fetch: 4...17, .joinGroup: 2...9, .offsetCommit: 2...9, .offsetFetch: 1...9, .listOffsets: 1...9])
        #expect(try kafka4.negotiate(FetchRequest.self) == 11)
        #expect(try kafka4.negotiate(JoinGroupRequest.self) == 5)
        #expect(FindCoordinatorRequest.requestHeaderVersion(3) == 2)
        #expect(FindCoordinatorRequest.responseHeaderVersion(2) == 0)
        #expect(FetchRequest.responseHeaderVersion(11) == 0)
        #expect(KafkaAPIKey.joinGroup.description == "JoinGroup")
        #expect(KafkaErrorCode.memberIDRequired.description == "MEMBER_ID_REQUIRED (79)")
    }

    // MARK: FindCoordinator

    @Test func findCoordinatorRequestBytes() throws {
        #expect(try body(FindCoordinatorRequest(key: "g"), version: 3) == hex("02 67  00  00"))
        #expect(try body(FindCoordinatorRequest(key: "g"), version: 1) == hex("00 01 67  00"))
    }

    @Test func findCoordinatorResponsesDecode() throws {
        let v3 = try decode(FindCoordinatorRequest.self, version: 3, "00 00 00 00  00 00  00  00 00 00 01  02 68  00 00 23 84  00")
        #expect(v3 == FindCoordinatorResponse(throttleTimeMs: 0, errorCode: .none, errorMessage: nil, nodeID: 1, host: "h", port: 9092))
        let v1 = try decode(FindCoordinatorRequest.self, version: 1, "00 00 00 00  00 0f  00 01 78  ff ff ff ff  00 00  ff ff ff ff")
        #expect(v1.errorCode == .coordinatorNotAvailable)
        #expect(v1.errorMessage == "x")
        #expect(v1.nodeID == -1)
    }

    // MARK: JoinGroup, SyncGroup, Heartbeat, LeaveGroup

    @Test func joinGroupRequestBytes() throws {
        let request = JoinGroupRequest(
            groupID: "g",
            sessionTimeoutMs: 10_000,
            rebalanceTimeoutMs: 30_000,
            memberID: "",
            protocols: [.init(name: "range", metadata: ByteBuffer(bytes: [1, 2]))]
        )
        let common = "00 08 \(ascii("consumer"))  00 00 00 01  00 05 \(ascii("range"))  00 00 00 02 01 02"
        #expect(try body(request, version: 5) == hex("00 01 67  00 00 27 10  00 00 75 30  00 00  ff ff  \(common)"))
        #expect(try body(request, version: 2) == hex("00 01 67  00 00 27 10  00 00 75 30  00 00  \(common)"))
    }

    @Test func joinGroupResponsesDecode() throws {
        let v5 = try decode(
            JoinGroupRequest.self,
            version: 5,
            """
            00 00 00 00  00 00  00 00 00 01  00 05 \(ascii("range"))  00 01 6d  00 01 6d
            00 00 00 01  00 01 6d  ff ff  00 00 00 01 01
            """
        )
        #expect(v5.generationID == 1)
        #expect(v5.protocolName == "range")
        #expect(v5.leader == "m")
        #expect(v5.memberID == "m")
        #expect(v5.members == [JoinGroupResponse.Member(memberID: "m", groupInstanceID: nil, metadata: ByteBuffer(bytes: [1]))])
        let required = try decode(JoinGroupRequest.self, version: 4, "00 00 00 00  00 4f  ff ff ff ff  00 00  00 00  00 01 6d  00 00 00 00")
        #expect(required.errorCode == .memberIDRequired)
        #expect(required.memberID == "m")
        #expect(required.members.isEmpty)
    }

    @Test func syncGroupRequestAndResponse() throws {
        let request = SyncGroupRequest(
            groupID: "g",
            generationID: 1,
            memberID: "m",
            assignments: [.init(memberID: "m", assignment: ByteBuffer(bytes: [1, 2]))]
        )
        let assignments = "00 00 00 01  00 01 6d  00 00 00 02 01 02"
        #expect(try body(request, version: 3) == hex("00 01 67  00 00 00 01  00 01 6d  ff ff  \(assignments)"))
        #expect(try body(request, version: 1) == hex("00 01 67  00 00 00 01  00 01 6d  \(assignments)"))
        let response = try decode(SyncGroupRequest.self, version: 3, "00 00 00 00  00 00  00 00 00 02 aa bb")
        #expect(response == SyncGroupResponse(throttleTimeMs: 0, errorCode: .none, assignment: ByteBuffer(bytes: [0xaa, 0xbb])))
    }

    @Test func heartbeatAndLeaveGroup() throws {
        let heartbeat = HeartbeatRequest(groupID: "g", generationID: 1, memberID: "m")
        #expect(try body(heartbeat, version: 3) == hex("00 01 67  00 00 00 01  00 01 6d  ff ff"))
        #expect(try body(heartbeat, version: 1) == hex("00 01 67  00 00 00 01  00 01 6d"))
        #expect(try decode(HeartbeatRequest.self, version: 3, "00 00 00 00  00 1b").errorCode == .rebalanceInProgress)
        #expect(try body(LeaveGroupRequest(groupID: "g", memberID: "m"), version: 2) == hex("00 01 67  00 01 6d"))
        #expect(
            try decode(LeaveGroupRequest.self, version: 1, "00 00 00 05  00 19")
                == GroupErrorResponse(throttleTimeMs: 5, errorCode: .unknownMemberID)
        )
        let error = #expect(throws: KafkaError.self) { try decode(HeartbeatRequest.self, version: 1, "00 00 00 00  00") }
        #expect(error?.message == "Heartbeat v1 response, field error_code: is truncated")
    }

    // MARK: Offsets

    @Test func offsetCommitRequestBytes() throws {
        let request = OffsetCommitRequest(
            groupID: "g",
            generationID: 1,
            memberID: "m",
            topics: [.init(name: "t", partitions: [.init(partitionIndex: 0, committedOffset: 5)])]
        )
        #expect(
            try body(request, version: 7)
                == hex(
                    "00 01 67  00 00 00 01  00 01 6d  ff ff  00 00 00 01 00 01 74  00 00 00 01 00 00 00 00 00 00 00 00 00 00 00 05 ff ff ff ff ff ff"
                )
        )
        #expect(
            try body(request, version: 2)
                == hex(
                    "00 01 67  00 00 00 01  00 01 6d  ff ff ff ff ff ff ff ff  00 00 00 01 00 01 74  00 00 00 01 00 00 00 00 00 00 00 00 00 00 00 05 ff ff"
                )
        )
    }

    @Test func offsetCommitResponsesDecode() throws {
        let v7 = try decode(OffsetCommitRequest.self, version: 7, "00 00 00 00  00 00 00 01 00 01 74  00 00 00 01 00 00 00 00 00 16")
        #expect(v7.topics.first?.partitions == [OffsetCommitResponse.Partition(partitionIndex: 0, errorCode: .illegalGeneration)])
        let v2 = try decode(OffsetCommitRequest.self, version: 2, "00 00 00 01 00 01 74  00 00 00 01 00 00 00 02 00 00")
        #expect(v2.topics.first?.partitions == [OffsetCommitResponse.Partition(partitionIndex: 2, errorCode: .none)])
    }

    @Test func offsetFetchRequestAndResponses() throws {
        let request = OffsetFetchRequest(groupID: "g", topics: [.init(name: "t", partitionIndexes: [0, 1])])
        #expect(try body(request, version: 5) == hex("00 01 67  00 00 00 01  00 01 74  00 00 00 02 00 00 00 00 00 00 00 01"))
        let v5 = try decode(
            OffsetFetchRequest.self,
            version: 5,
            """
            00 00 00 00  00 00 00 01  00 01 74  00 00 00 02
                00 00 00 00  00 00 00 00 00 00 00 07  ff ff ff ff  00 00  00 00
                00 00 00 01  ff ff ff ff ff ff ff ff  ff ff ff ff  ff ff  00 00
            00 00
            """
        )
        #expect(v5.errorCode == .none)
        #expect(v5.topics.first?.partitions.map(\.committedOffset) == [7, -1])
        #expect(v5.topics.first?.partitions.map(\.metadata) == ["", nil])
        let v1 = try decode(
            OffsetFetchRequest.self,
            version: 1,
            "00 00 00 01  00 01 74  00 00 00 01  00 00 00 03  00 00 00 00 00 00 00 09  ff ff  00 00"
        )
        #expect(v1.topics.first?.partitions.first?.committedOffset == 9)
        #expect(v1.topics.first?.partitions.first?.committedLeaderEpoch == -1)
        let v2 = try decode(OffsetFetchRequest.self, version: 2, "00 00 00 00  00 10")
        #expect(v2.errorCode == .notCoordinator)
    }

    @Test func listOffsetsRequestAndResponses() throws {
        let request = ListOffsetsRequest(
            topics: [.init(name: "t", partitions: [.init(partitionIndex: 0, timestamp: ListOffsetsRequest.earliest)])]
        )
        #expect(
            try body(request, version: 5)
                == hex("ff ff ff ff  00  00 00 00 01 00 01 74  00 00 00 01 00 00 00 00 ff ff ff ff ff ff ff ff ff ff ff fe")
        )
        #expect(try body(request, version: 1) == hex("ff ff ff ff  00 00 00 01 00 01 74  00 00 00 01 00 00 00 00 ff ff ff ff ff ff ff fe"))
        let v5 = try decode(
            ListOffsetsRequest.self,
            version: 5,
            "00 00 00 00  00 00 00 01 00 01 74  00 00 00 01 00 00 00 00 00 00 ff ff ff ff ff ff ff ff 00 00 00 00 00 00 00 0c 00 00 00 00"
        )
        #expect(
            v5.topics.first?.partitions == [
                ListOffsetsResponse.Partition(partitionIndex: 0, errorCode: .none, timestamp: -1, offset: 12, leaderEpoch: 0)
            ]
        )
        let v1 = try decode(
            ListOffsetsRequest.self,
            version: 1,
            "00 00 00 01 00 01 74  00 00 00 01 00 00 00 01 00 03 ff ff ff ff ff ff ff ff ff ff ff ff ff ff ff ff"
        )
        #expect(v1.topics.first?.partitions.first?.errorCode == .unknownTopicOrPartition)
        #expect(v1.topics.first?.partitions.first?.leaderEpoch == -1)
    }

    // MARK: Fetch

    @Test func fetchRequestBytes() throws {
        let request = FetchRequest(
            maxWaitMs: 500,
            minBytes: 1,
            maxBytes: 0x10_0000,
            isolationLevel: 1,
            topics: [.init(topic: "t", partitions: [.init(partition: 0, fetchOffset: 5, partitionMaxBytes: 0x10_0000)])]
        )
        #expect(
            try body(request, version: 11)
                == hex(
                    """
                    ff ff ff ff  00 00 01 f4  00 00 00 01  00 10 00 00  01  00 00 00 00  ff ff ff ff
                    00 00 00 01  00 01 74  00 00 00 01  00 00 00 00  ff ff ff ff  00 00 00 00 00 00 00 05
                    ff ff ff ff ff ff ff ff  00 10 00 00
                    00 00 00 00  00 00
                    """
                )
        )
        #expect(
            try body(request, version: 4)
                == hex(
                    """
                    ff ff ff ff  00 00 01 f4  00 00 00 01  00 10 00 00  01
                    00 00 00 01  00 01 74  00 00 00 01  00 00 00 00  00 00 00 00 00 00 00 05  00 10 00 00
                    """
                )
        )
    }

    @Test func fetchV11ResponseCarriesRecordBatches() throws {
        let batch = try RecordBatch(producing: [(key: ByteBuffer(string: "k"), value: ByteBuffer(string: "v"), headers: [], timestamp: 9)])
        var records = ByteBuffer()
        try records.writeRecordBatch(batch)
        var body = ByteBuffer(
            bytes: hex(
                """
                00 00 00 00  00 00  00 00 00 07
                00 00 00 01  00 01 74  00 00 00 01
                    00 00 00 02  00 00  00 00 00 00 00 00 00 01  00 00 00 00 00 00 00 01  00 00 00 00 00 00 00 00
                    00 00 00 01  00 00 00 00 00 00 00 2a  00 00 00 00 00 00 00 00  ff ff ff ff
                """
            )
        )
        body.writeInteger(Int32(records.readableBytes))
        body.writeImmutableBuffer(records)
        let response = try FetchRequest.decodeResponse(&body, version: 11)
        let partition = try #require(response.topics.first?.partitions.first)
        #expect(response.topics.first?.topic == "t")
        #expect(partition.partitionIndex == 2)
        #expect(partition.highWatermark == 1)
        #expect(partition.abortedTransactions == [FetchResponse.AbortedTransaction(producerID: 42, firstOffset: 0)])
        #expect(partition.preferredReadReplica == -1)
        var read = partition.records
        #expect(try read.readRecordBatch() == batch)
    }

    @Test func fetchV4ResponseWithNullRecordsDecodes() throws {
        let response = try decode(
            FetchRequest.self,
            version: 4,
            """
            00 00 00 00
            00 00 00 01  00 01 74  00 00 00 01
                00 00 00 00  00 01  ff ff ff ff ff ff ff ff  ff ff ff ff ff ff ff ff  ff ff ff ff  ff ff ff ff
            """
        )
        let partition = try #require(response.topics.first?.partitions.first)
        #expect(partition.errorCode == .offsetOutOfRange)
        #expect(partition.abortedTransactions.isEmpty)
        #expect(partition.records.readableBytes == 0)
        #expect(partition.logStartOffset == -1)
    }
}
