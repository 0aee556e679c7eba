import NIOCore

/// The metadata a member of a "consumer" group sends with JoinGroup: the topics it wants.
///
/// Written as version 0 (topics, user data), which every client reads. Newer versions (owned partitions,
/// generation, rack) only append fields, so any version is read by reading its first fields and ignoring the rest.
struct ConsumerProtocolSubscription: Sendable, Hashable {
    var version: Int16 = 0
    var topics: [String]
    var userData: ByteBuffer? = nil

    func encoded() throws -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.writeKafkaInt16(0)
        try buffer.writeKafkaArray(self.topics) { buffer, topic in try buffer.writeKafkaString(topic) }
        try buffer.writeKafkaBytes(self.userData)
        return buffer
    }

    init(version: Int16 = 0, topics: [String], userData: ByteBuffer? = nil) {
        self.version = version
        self.topics = topics
        self.userData = userData
    }

    init(decoding bytes: ByteBuffer) throws {
        var reader = KafkaBodyReader(bytes, flexible: false, message: "consumer protocol subscription")
        self.version = try reader.int16("version")
        guard self.version >= 0 else {
            throw KafkaError(.protocolError, message: "consumer protocol subscription has version \(self.version)")
        }
        self.topics = try reader.array("topics") { try $0.string("topics") }
        // Version 0 from some clients ends after the topics.
        self.userData = reader.readableBytes > 0 ? try reader.nullableBytes("user_data") : nil
    }
}
