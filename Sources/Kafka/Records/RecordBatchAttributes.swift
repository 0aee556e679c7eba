/// The INT16 attributes of a v2 record batch.
///
/// Bits 0–2 compression, bit 3 timestamp type, bit 4 transactional, bit 5 control, bit 6 delete horizon;
/// the remaining bits are unused and kept as they were read, so a decoded batch re-encodes to the same bytes.
struct RecordBatchAttributes: Sendable, Hashable {
    /// Whether timestamps are the producer's (`createTime`) or the broker's (`logAppendTime`).
    enum TimestampType: Sendable, Hashable {
        case createTime
        case logAppendTime
    }

    private static let compressionMask: Int16 = 0b111
    private static let timestampTypeBit: Int16 = 1 << 3
    private static let transactionalBit: Int16 = 1 << 4
    private static let controlBit: Int16 = 1 << 5
    private static let deleteHorizonBit: Int16 = 1 << 6

    private(set) var rawValue: Int16

    init(rawValue: Int16) {
        self.rawValue = rawValue
    }

    init(
        compression: KafkaCompression = .none,
        timestampType: TimestampType = .createTime,
        isTransactional: Bool = false,
        isControl: Bool = false
    ) {
        self.rawValue = compression.rawValue
        if timestampType == .logAppendTime { self.rawValue |= Self.timestampTypeBit }
        if isTransactional { self.rawValue |= Self.transactionalBit }
        if isControl { self.rawValue |= Self.controlBit }
    }

    /// The codec, or nil for a codec number (5–7) that Kafka does not define.
    var compression: KafkaCompression? { KafkaCompression(rawValue: self.rawValue & Self.compressionMask) }
    var timestampType: TimestampType { self.rawValue & Self.timestampTypeBit == 0 ? .createTime : .logAppendTime }
    var isTransactional: Bool { self.rawValue & Self.transactionalBit != 0 }
    var isControl: Bool { self.rawValue & Self.controlBit != 0 }
    var hasDeleteHorizon: Bool { self.rawValue & Self.deleteHorizonBit != 0 }
}
