import NIOCore

/// A member's share of a "consumer" group's partitions, sent by the leader through SyncGroup.
///
/// Written as version 0; later versions append fields, which are ignored when read.
struct ConsumerProtocolAssignment: Sendable, Hashable {
    var version: Int16 = 0
    var partitions: [TopicPartition]
    var userData: ByteBuffer? = nil

    init(version: Int16 = 0, partitions: [TopicPartition], userData: ByteBuffer? = nil) {
        self.version = version
        self.partitions = partitions
        self.userData = userData
    }

    func encoded() throws -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.writeKafkaInt16(0)
        try buffer.writeKafkaArray(self.partitions.groupedByTopic()) { buffer, topic in
            try buffer.writeKafkaString(topic.topic)
            try buffer.writeKafkaArray(topic.partitions) { buffer, partition in buffer.writeKafkaInt32(partition) }
        }
        try buffer.writeKafkaBytes(self.userData)
        return buffer
    }

    /// An empty buffer is an empty assignment: coordinators send that to a member the leader gave nothing.
    init(decoding bytes: ByteBuffer) throws {
        guard bytes.readableBytes > 0 else {
            self.init(partitions: [])
            return
        }
        var reader = KafkaBodyReader(bytes, flexible: false, message: "consumer protocol assignment")
        let version = try reader.int16("version")
        guard version >= 0 else {
            throw KafkaError(.protocolError, message: "consumer protocol assignment has version \(version)")
        }
        let topics = try reader.array("assigned_partitions") { reader in
            let topic = try reader.string("topic")
            return try reader.array("partitions") { reader in
                TopicPartition(topic: topic, partition: try reader.int32("partitions"))
            }
        }
        let userData = reader.readableBytes > 0 ? try reader.nullableBytes("user_data") : nil
        self.init(version: version, partitions: topics.flatMap { $0 }.sorted(), userData: userData)
    }
}
