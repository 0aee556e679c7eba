/// A record read by `KafkaConsumer`.
public struct KafkaConsumerRecord: Sendable, Hashable {
    public var topic: String
    public var partition: Int32
    public var offset: Int64
    /// Nil is the protocol's null.
    public var key: [UInt8]?
    /// Nil is the protocol's null (a tombstone).
    public var value: [UInt8]?
    public var headers: [KafkaRecordHeader]
    /// Milliseconds since the epoch: the producer's time, or the broker's for topics with log-append time.
    public var timestamp: Int64

    public init(
        topic: String,
        partition: Int32,
        offset: Int64,
        key: [UInt8]?,
        value: [UInt8]?,
        headers: [KafkaRecordHeader] = [],
        timestamp: Int64
    ) {
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.key = key
        self.value = value
        self.headers = headers
        self.timestamp = timestamp
    }
}
