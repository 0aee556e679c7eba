import NIOCore

/// CreateTopics (key 19): creates topics with a partition count and replication factor (or the broker's defaults).
///
/// Versions 2–5 (flexible from 5): Kafka 4 removed v0–v1, and v7 adds topic ids this client does not use yet.
struct CreateTopicsRequest: KafkaRequest {
    typealias Response = CreateTopicsResponse

    static let apiKey = KafkaAPIKey.createTopics
    static let supportedVersions: ClosedRange<Int16> = 2...5
    static let firstFlexibleVersion: Int16? = 5

    struct Topic: Sendable, Hashable {
        var name: String
        /// -1 for the broker's default.
        var numPartitions: Int32
        /// -1 for the broker's default.
        var replicationFactor: Int16
        /// Topic configuration, e.g. `retention.ms`.
        var configs: [String: String] = [:]
    }

    var topics: [Topic]
    var timeoutMs: Int32 = 30_000
    /// Check the request without creating anything.
    var validateOnly = false

    func encode(into buffer: inout ByteBuffer, version: Int16) throws {
        let flexible = Self.isFlexible(version)
        try buffer.writeKafkaArray(self.topics, flexible: flexible) { buffer, topic in
            try buffer.writeKafkaString(topic.name, flexible: flexible)
            buffer.writeKafkaInt32(topic.numPartitions)
            buffer.writeKafkaInt16(topic.replicationFactor)
            // No manual assignments: the broker places the replicas.
            try buffer.writeKafkaArray([Int32](), flexible: flexible) { _, _ in }
            // Sorted, so the same request always encodes to the same bytes.
            try buffer.writeKafkaArray(topic.configs.sorted { $0.key < $1.key }, flexible: flexible) { buffer, config in
                try buffer.writeKafkaString(config.key, flexible: flexible)
                try buffer.writeKafkaNullableString(config.value, flexible: flexible)
                buffer.writeKafkaTaggedFields(flexible: flexible)
            }
            buffer.writeKafkaTaggedFields(flexible: flexible)
        }
        buffer.writeKafkaInt32(self.timeoutMs)
        buffer.writeKafkaBoolean(self.validateOnly)
        buffer.writeKafkaTaggedFields(flexible: flexible)
    }

    static func decodeResponse(_ body: inout ByteBuffer, version: Int16) throws -> CreateTopicsResponse {
        var reader = KafkaBodyReader(body, flexible: Self.isFlexible(version), message: "\(Self.name(version)) response")
        let throttleTime = try reader.int32("throttle_time_ms")
        let topics = try reader.array("topics") { reader in
            let name = try reader.string("name")
            let errorCode = try reader.errorCode()
            let errorMessage = try reader.nullableString("error_message")
            var numPartitions: Int32 = -1
            var replicationFactor: Int16 = -1
            if version >= 5 {
                numPartitions = try reader.int32("num_partitions")
                replicationFactor = try reader.int16("replication_factor")
                _ = try reader.nullableArray("configs") { reader in
                    _ = try reader.string("configs.name")
                    _ = try reader.nullableString("configs.value")
                    _ = try reader.boolean("configs.read_only")
                    _ = try reader.int8("configs.config_source")
                    _ = try reader.boolean("configs.is_sensitive")
                    try reader.taggedFields()
                }
            }
            // Tag 0 of v5+ is topic_config_error_code, which this client does not read.
            try reader.taggedFields()
            return CreateTopicsResponse.Topic(
                name: name,
                errorCode: errorCode,
                errorMessage: errorMessage,
                numPartitions: numPartitions,
                replicationFactor: replicationFactor
            )
        }
        try reader.taggedFields()
        try reader.finish()
        return CreateTopicsResponse(throttleTimeMs: throttleTime, topics: topics)
    }
}
