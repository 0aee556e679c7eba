import NIOCore

/// Metadata (key 3): the cluster's brokers and, for the topics asked for, their partitions and leaders.
///
/// Versions 4–9: Kafka 4 removed v0–v3, and v10 adds topic ids this client does not use yet.
struct MetadataRequest: KafkaRequest {
    typealias Response = MetadataResponse

    static let apiKey = KafkaAPIKey.metadata
    static let supportedVersions: ClosedRange<Int16> = 4...9
    static let firstFlexibleVersion: Int16? = 9

    /// The topics to describe; nil asks for all of them.
    var topics: [String]?
    /// Whether asking about a missing topic creates it (when the broker allows auto-creation).
    var allowAutoTopicCreation = false

    func encode(into buffer: inout ByteBuffer, version: Int16) throws {
        let flexible = Self.isFlexible(version)
        let writeTopic: (inout ByteBuffer, String) throws -> Void = { buffer, name in
            try buffer.writeKafkaString(name, flexible: flexible)
            buffer.writeKafkaTaggedFields(flexible: flexible)
        }
        if flexible {
            try buffer.writeKafkaCompactNullableArray(self.topics, writeTopic)
        } else {
            try buffer.writeKafkaNullableArray(self.topics, writeTopic)
        }
        buffer.writeKafkaBoolean(self.allowAutoTopicCreation)
        if version >= 8 {
            buffer.writeKafkaBoolean(false)  // include_cluster_authorized_operations
            buffer.writeKafkaBoolean(false)  // include_topic_authorized_operations
        }
        buffer.writeKafkaTaggedFields(flexible: flexible)
    }

    static func decodeResponse(_ body: inout ByteBuffer, version: Int16) throws -> MetadataResponse {
        var reader = KafkaBodyReader(body, flexible: Self.isFlexible(version), message: "\(Self.name(version)) response")
        let throttleTime = try reader.int32("throttle_time_ms")
        let brokers = try reader.array("brokers") { reader in
            let broker = MetadataResponse.Broker(
                nodeID: try reader.int32("node_id"),
                host: try reader.string("host"),
                port: try reader.int32("port"),
                rack: try reader.nullableString("rack")
            )
            try reader.taggedFields()
            return broker
        }
        let clusterID = try reader.nullableString("cluster_id")
        let controllerID = try reader.int32("controller_id")
        let topics = try reader.array("topics") { reader in
            let errorCode = try reader.errorCode()
            let name = try reader.string("name")
            let isInternal = try reader.boolean("is_internal")
            let partitions = try reader.array("partitions") { reader in
                let partition = MetadataResponse.Partition(
                    errorCode: try reader.errorCode(),
                    partitionIndex: try reader.int32("partition_index"),
                    leaderID: try reader.int32("leader_id"),
                    leaderEpoch: version >= 7 ? try reader.int32("leader_epoch") : -1,
                    replicaNodes: try reader.array("replica_nodes") { try $0.int32("replica_nodes") },
                    isrNodes: try reader.array("isr_nodes") { try $0.int32("isr_nodes") },
                    offlineReplicas: version >= 5 ? try reader.array("offline_replicas") { try $0.int32("offline_replicas") } : []
                )
                try reader.taggedFields()
                return partition
            }
            if version >= 8 {
                _ = try reader.int32("topic_authorized_operations")
            }
            try reader.taggedFields()
            return MetadataResponse.Topic(errorCode: errorCode, name: name, isInternal: isInternal, partitions: partitions)
        }
        if version >= 8 {
            _ = try reader.int32("cluster_authorized_operations")
        }
        try reader.taggedFields()
        try reader.finish()
        return MetadataResponse(
            throttleTimeMs: throttleTime,
            brokers: brokers,
            clusterID: clusterID,
            controllerID: controllerID,
            topics: topics
        )
    }
}
