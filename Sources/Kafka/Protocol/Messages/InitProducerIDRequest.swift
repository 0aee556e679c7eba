import NIOCore

/// InitProducerId (key 22): a producer id and epoch, which make produced batches idempotent.
///
/// Versions 0–4 (flexible from 2; v3 adds the current id and epoch, to bump an epoch instead of starting anew).
struct InitProducerIDRequest: KafkaRequest {
    typealias Response = InitProducerIDResponse

    static let apiKey = KafkaAPIKey.initProducerID
    static let supportedVersions: ClosedRange<Int16> = 0...4
    static let firstFlexibleVersion: Int16? = 2

    /// Nil for an idempotent producer that is not transactional.
    var transactionalID: String?
    /// Ignored by the broker without a transactional id, but always sent.
    var transactionTimeoutMs: Int32 = 60_000
    /// -1 to get a new producer id (v3+).
    var producerID: Int64 = -1
    var producerEpoch: Int16 = -1

    func encode(into buffer: inout ByteBuffer, version: Int16) throws {
        let flexible = Self.isFlexible(version)
        try buffer.writeKafkaNullableString(self.transactionalID, flexible: flexible)
        buffer.writeKafkaInt32(self.transactionTimeoutMs)
        if version >= 3 {
            buffer.writeKafkaInt64(self.producerID)
            buffer.writeKafkaInt16(self.producerEpoch)
        }
        buffer.writeKafkaTaggedFields(flexible: flexible)
    }

    static func decodeResponse(_ body: inout ByteBuffer, version: Int16) throws -> InitProducerIDResponse {
        var reader = KafkaBodyReader(body, flexible: Self.isFlexible(version), message: "\(Self.name(version)) response")
        let response = InitProducerIDResponse(
            throttleTimeMs: try reader.int32("throttle_time_ms"),
            errorCode: try reader.errorCode(),
            producerID: try reader.int64("producer_id"),
            producerEpoch: try reader.int16("producer_epoch")
        )
        try reader.taggedFields()
        try reader.finish()
        return response
    }
}
