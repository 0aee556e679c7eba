import NIOCore

/// A record to produce: its topic, key, value, headers and timestamp, and optionally its partition.
public struct KafkaProducerRecord: Sendable, Hashable {
    public var topic: String
    /// Decides the partition (the Java client's murmur2 partitioner) unless `partition` is set.
    public var key: ByteBuffer?
    public var value: ByteBuffer?
    public var headers: [KafkaRecordHeader]
    /// Milliseconds since 1970.
    public var timestamp: Int64
    /// The partition to write to; nil lets the key decide (records without a key are spread round robin).
    public var partition: Int32?

    public init(
        topic: String,
        key: ByteBuffer?,
        value: ByteBuffer?,
        headers: [KafkaRecordHeader] = [],
        timestamp: Int64,
        partition: Int32? = nil
    ) {
        self.topic = topic
        self.key = key
        self.value = value
        self.headers = headers
        self.timestamp = timestamp
        self.partition = partition
    }

    /// Roughly the bytes this record takes in a batch, to bound batch sizes.
    var estimatedSize: Int {
        // Length, attributes, timestamp and offset deltas, key and value lengths: at most ~21 bytes of varints.
        21 + (self.key?.readableBytes ?? 0) + (self.value?.readableBytes ?? 0)
            + self.headers.reduce(0) { $0 + 10 + $1.key.utf8.count + ($1.value?.readableBytes ?? 0) }
    }
}

/// One partition of one topic.
struct TopicPartition: Sendable, Hashable, CustomStringConvertible {
    var topic: String
    var partition: Int32

    var description: String { "\(self.topic)-\(self.partition)" }
}
