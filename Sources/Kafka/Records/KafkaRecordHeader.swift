import NIOCore

/// One header of a record: a string key and optional bytes.
public struct KafkaRecordHeader: Sendable, Hashable {
    /// The header's name.
    public var key: String
    /// The header's value; nil is the protocol's null.
    public var value: ByteBuffer?

    /// Creates a header named `key` with `value`.
    public init(key: String, value: ByteBuffer?) {
        self.key = key
        self.value = value
    }
}
