/// The compression codec of a record batch (attribute bits 0–2).
public enum KafkaCompression: Int16, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// Records are stored as they are.
    case none = 0
    /// gzip (RFC 1952).
    case gzip = 1
    /// Snappy, in Kafka's xerial framing.
    case snappy = 2
    /// LZ4 frames.
    case lz4 = 3
    /// Zstandard.
    case zstd = 4

    public var description: String {
        switch self {
        case .none: "none"
        case .gzip: "gzip"
        case .snappy: "snappy"
        case .lz4: "lz4"
        case .zstd: "zstd"
        }
    }
}
