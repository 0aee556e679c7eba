import NIOCore
import Testing

@testable import Kafka

@Suite struct MessagesTests {
    // MARK: Framing and headers

    @Test func requestFrameHasSizeHeaderV2AndBodyForFlexibleVersions() throws {
        var buffer = ByteBuffer()
        let request = ApiVersionsRequest(clientSoftwareName: "sw", clientSoftwareVersion: "1")
        try buffer.writeKafkaRequest(request, version: 3, correlationID: 1, clientID: "cg")
        let expected = hex(
            """
            00 00 00 13
            00 12  00 03  00 00 00 01  00 02 \(ascii("cg"))  00
            03 \(ascii("sw"))  02 \(ascii("1"))  00
            """
        )
        #expect(Array(buffer.readableBytesView) == expected)
    }

    @Test func requestFrameHasHeaderV1ForClassicVersions() throws {
        var buffer = ByteBuffer()
        try buffer.writeKafkaRequest(MetadataRequest(topics: nil), version: 7, correlationID: 258, clientID: nil)
        // No tagged fields after the null client id; v7's body: null topics, no auto-creation.
        #expect(Array(buffer.readableBytesView) == hex("00 00 00 0f  00 03 00 07 00 00 01 02 ff ff  ff ff ff ff 00"))
    }

    @Test func aFailedEncodingLeavesNothingWritten() {
        var buffer = ByteBuffer(bytes: [0xaa])
        let request = ProduceRequest(acks: 0, topics: [])
        let error = #expect(throws: KafkaError.self) { try buffer.writeKafkaRequest(request, version: 9, correlationID: 1, clientID: nil) }
        #expect(error?.code == .invalidArgument)
        #expect(Array(buffer.readableBytesView) == [0xaa])
    }

    @Test func headerVersionsFollowFlexibility() {
        #expect(MetadataRequest.requestHeaderVersion(8) == 1)
        #expect(MetadataRequest.requestHeaderVersion(9) == 2)
        #expect(MetadataRequest.responseHeaderVersion(8) == 0)
        #expect(MetadataRequest.responseHeaderVersion(9) == 1)
        // ApiVersions' request is flexible from v3, its response header never is.
        #expect(ApiVersionsRequest.requestHeaderVersion(3) == 2)
        #expect(ApiVersionsRequest.responseHeaderVersion(3) == 0)
        #expect(InitProducerIDRequest.responseHeaderVersion(2) == 1)
        #expect(ProduceRequest.requestHeaderVersion(8) == 1)
    }

    @Test func responseHeaderV1SkipsTaggedFields() throws {
        var buffer = ByteBuffer(bytes: hex("00 00 00 07  01 05 02 aa bb  2a"))
        #expect(try buffer.readKafkaResponseHeader(version: 1) == 7)
        #expect(buffer.readKafkaInt8() == 0x2a)
        var v0 = ByteBuffer(bytes: hex("00 00 00 07  01"))
        #expect(try v0.readKafkaResponseHeader(version: 0) == 7)
        #expect(v0.readableBytes == 1)
    }

    // MARK: ApiVersions and negotiation

    @Test func apiVersionsV3ResponseDecodesAndSkipsUnknownTags() throws {
        let response = try decode(
            ApiVersionsRequest.self,
            version: 3,
            """
            00 00
            04  00 00 00 03 00 09 00  00 03 00 00 00 0c 00  00 12 00 00 00 04 00
            00 00 00 00
            01  03 01 00
            """
        )
        #expect(response.errorCode == .none)
        #expect(response.versions[.produce] == 3...9)
        #expect(response.versions[.metadata] == 0...12)
        #expect(response.versions[.apiVersions] == 0...4)
        #expect(response.versions[.initProducerID] == nil)
    }

    @Test func apiVersionsUnsupportedVersionIsReadInTheV0Layout() throws {
        // A broker that does not know v3 answers UNSUPPORTED_VERSION with the v0 body: an INT32 array.
        let response = try decode(ApiVersionsRequest.self, version: 3, "00 23  00 00 00 01  00 12 00 00 00 02")
        #expect(response.errorCode == .unsupportedVersion)
        #expect(response.versions[.apiVersions] == 0...2)
    }

    @Test func negotiationPicksTheHighestCommonVersion() throws {
        let broker = KafkaAPIVersions([.metadata: 0...12, .produce: 3...11, .initProducerID: 0...1, .createTopics: 0...7])
        #expect(try broker.negotiate(MetadataRequest.self) == 9)
        #expect(try broker.negotiate(ProduceRequest.self) == 9)
        #expect(try broker.negotiate(InitProducerIDRequest.self) == 1)
        #expect(try broker.negotiate(CreateTopicsRequest.self) == 5)
        #expect(try KafkaAPIVersions([.produce: 8...8]).negotiate(ProduceRequest.self) == 8)
    }

    @Test func noCommonVersionNamesTheAPIAndBothRanges() {
        let old = KafkaAPIVersions([.produce: 0...6])
        let error = #expect(throws: KafkaError.self) { try old.negotiate(ProduceRequest.self) }
        #expect(error?.code == .unsupportedVersion)
        #expect(error?.message == "no common version of Produce: the broker supports v0–v6, this client v7–v9")

        let missing = #expect(throws: KafkaError.self) { try old.negotiate(InitProducerIDRequest.self) }
        #expect(missing?.message.contains("does not support InitProducerId") == true)
    }

    // MARK: Metadata

    @Test func metadataRequestBytes() throws {
        #expect(try body(MetadataRequest(topics: ["t"]), version: 9) == hex("02 02 74 00  00  00 00  00"))
        #expect(try body(MetadataRequest(topics: ["t"], allowAutoTopicCreation: true), version: 7) == hex("00 00 00 01 00 01 74  01"))
        #expect(try body(MetadataRequest(topics: nil), version: 4) == hex("ff ff ff ff  00"))
        #expect(try body(MetadataRequest(topics: nil), version: 9) == hex("00  00  00 00  00"))
    }

    static let metadataV9Response = """
        00 00 00 00
        02  00 00 00 01  0a \(ascii("127.0.0.1"))  00 00 23 84  00  00
        03 \(ascii("c1"))
        00 00 00 01
        02  00 00  02 74  00
            02  00 00  00 00 00 00  00 00 00 01  00 00 00 05  02 00 00 00 01  02 00 00 00 01  01  00
            80 00 00 00  00
        80 00 00 00
        00
        """

    @Test func metadataV9ResponseDecodes() throws {
        let response = try decode(MetadataRequest.self, version: 9, Self.metadataV9Response)
        #expect(response.brokers == [MetadataResponse.Broker(nodeID: 1, host: "127.0.0.1", port: 9092, rack: nil)])
        #expect(response.clusterID == "c1")
        #expect(response.controllerID == 1)
        #expect(response.topics.count == 1)
        #expect(response.topics.first?.name == "t")
        #expect(response.topics.first?.isInternal == false)
        let partition = try #require(response.topics.first?.partitions.first)
        #expect(partition.partitionIndex == 0)
        #expect(partition.leaderID == 1)
        #expect(partition.leaderEpoch == 5)
        #expect(partition.replicaNodes == [1])
        #expect(partition.isrNodes == [1])
        #expect(partition.offlineReplicas == [])
    }

    @Test func metadataV4ResponseDecodes() throws {
        let response = try decode(
            MetadataRequest.self,
            version: 4,
            """
            00 00 00 00
            00 00 00 01  00 00 00 02  00 04 \(ascii("host"))  00 00 00 01  ff ff
            ff ff
            00 00 00 02
            00 00 00 01  00 03  00 01 78  00
                00 00 00 00
            """
        )
        #expect(response.brokers == [MetadataResponse.Broker(nodeID: 2, host: "host", port: 1, rack: nil)])
        #expect(response.clusterID == nil)
        #expect(response.topics.first?.errorCode == .unknownTopicOrPartition)
        #expect(response.topics.first?.partitions == [])
    }

    @Test func truncatedOrOverlongResponsesNameTheMessageAndField() throws {
        let full = hex(Self.metadataV9Response)
        var truncated = ByteBuffer(bytes: full[0..<15])  // into the host name
        let error = #expect(throws: KafkaError.self) { try MetadataRequest.decodeResponse(&truncated, version: 9) }
        #expect(error?.code == .protocolError)
        #expect(error?.message == "Metadata v9 response, field host: is truncated")

        var overlong = ByteBuffer(bytes: full + [0x00])
        let extra = #expect(throws: KafkaError.self) { try MetadataRequest.decodeResponse(&overlong, version: 9) }
        #expect(extra?.message == "Metadata v9 response has 1 unexpected bytes at its end")

        var lying = ByteBuffer(bytes: hex("00 00 00 00  7f ff ff ff"))
        let count = #expect(throws: KafkaError.self) { try MetadataRequest.decodeResponse(&lying, version: 4) }
        #expect(count?.message == "Metadata v4 response, field brokers: declares 2147483647 elements in 0 bytes")
    }

    // MARK: InitProducerId

    @Test func initProducerIDRequestAndResponse() throws {
        #expect(try body(InitProducerIDRequest(), version: 0) == hex("ff ff  00 00 ea 60"))
        #expect(try body(InitProducerIDRequest(), version: 2) == hex("00  00 00 ea 60  00"))
        #expect(try body(InitProducerIDRequest(), version: 4) == hex("00  00 00 ea 60  ff ff ff ff ff ff ff ff  ff ff  00"))
        let response = try decode(InitProducerIDRequest.self, version: 4, "00 00 00 00  00 00  00 00 00 00 00 00 00 2a  00 03  00")
        #expect(response == InitProducerIDResponse(throttleTimeMs: 0, errorCode: .none, producerID: 42, producerEpoch: 3))
        let v1 = try decode(InitProducerIDRequest.self, version: 1, "00 00 00 05  00 2f  ff ff ff ff ff ff ff ff  ff ff")
        #expect(v1.errorCode == KafkaErrorCode(rawValue: 47))
        #expect(v1.errorCode.description == "INVALID_PRODUCER_EPOCH (47)")
        #expect(v1.throttleTimeMs == 5)
    }

    // MARK: Produce

    @Test func produceRequestBytes() throws {
        let request = ProduceRequest(
            topics: [.init(name: "t", partitions: [.init(index: 0, records: ByteBuffer(bytes: [1, 2, 3]))])]
        )
        #expect(
            try body(request, version: 9)
                == hex("00  ff ff  00 00 75 30  02 02 74  02 00 00 00 00 04 01 02 03 00  00  00")
        )
        #expect(
            try body(request, version: 7)
                == hex("ff ff  ff ff  00 00 75 30  00 00 00 01 00 01 74  00 00 00 01 00 00 00 00 00 00 00 03 01 02 03")
        )
    }

    @Test func produceRequestCarriesAnEncodedBatch() throws {
        let batch = try RecordBatch(producing: [(key: ByteBuffer(string: "k"), value: ByteBuffer(string: "v"), headers: [], timestamp: 5)])
        let partition = try ProduceRequest.PartitionData(index: 2, batch: batch)
        var records = partition.records
        #expect(try records.readRecordBatch() == batch)
    }

    @Test func produceV9ResponseDecodes() throws {
        let response = try decode(
            ProduceRequest.self,
            version: 9,
            """
            02  02 74
                02  00 00 00 00  00 00  00 00 00 00 00 00 00 07  ff ff ff ff ff ff ff ff  00 00 00 00 00 00 00 00  01  00  00
                00
            00 00 00 00
            00
            """
        )
        let partition = try #require(response.topics.first?.partitions.first)
        #expect(response.topics.first?.name == "t")
        #expect(partition.errorCode == .none)
        #expect(partition.baseOffset == 7)
        #expect(partition.logAppendTimeMs == -1)
        #expect(partition.errorMessage == nil)
    }

    @Test func produceV8ResponseWithRecordErrorsDecodes() throws {
        let response = try decode(
            ProduceRequest.self,
            version: 8,
            """
            00 00 00 01  00 01 74
                00 00 00 01  00 00 00 01  00 03  ff ff ff ff ff ff ff ff  ff ff ff ff ff ff ff ff  ff ff ff ff ff ff ff ff
                    00 00 00 01  00 00 00 00  00 03 \(ascii("bad"))
                    00 04 \(ascii("oops"))
            00 00 00 0a
            """
        )
        let partition = try #require(response.topics.first?.partitions.first)
        #expect(partition.index == 1)
        #expect(partition.errorCode == .unknownTopicOrPartition)
        #expect(partition.recordErrors == [ProduceResponse.RecordError(batchIndex: 0, message: "bad")])
        #expect(partition.errorMessage == "oops")
        #expect(response.throttleTimeMs == 10)
    }

    // MARK: CreateTopics

    @Test func createTopicsRequestBytes() throws {
        let request = CreateTopicsRequest(topics: [.init(name: "t", numPartitions: 3, replicationFactor: 1, configs: ["a": "b"])])
        #expect(
            try body(request, version: 4)
                == hex("00 00 00 01  00 01 74  00 00 00 03  00 01  00 00 00 00  00 00 00 01 00 01 61 00 01 62  00 00 75 30  00")
        )
        #expect(
            try body(request, version: 5)
                == hex("02  02 74  00 00 00 03  00 01  01  02 02 61 02 62 00  00  00 00 75 30  00  00")
        )
    }

    @Test func createTopicsResponsesDecode() throws {
        let v5 = try decode(
            CreateTopicsRequest.self,
            version: 5,
            "00 00 00 00  02  02 74  00 24  03 \(ascii("no"))  00 00 00 03  00 01  00  01 00 02 00 00  00"
        )
        #expect(v5.topics.count == 1)
        #expect(v5.topics.first?.errorCode == .topicAlreadyExists)
        #expect(v5.topics.first?.errorMessage == "no")
        #expect(v5.topics.first?.numPartitions == 3)
        let v2 = try decode(CreateTopicsRequest.self, version: 2, "00 00 00 00  00 00 00 01  00 01 74  00 00  ff ff")
        let expected = CreateTopicsResponse.Topic(name: "t", errorCode: .none, errorMessage: nil, numPartitions: -1, replicationFactor: -1)
        #expect(v2.topics.first == expected)
    }
}
