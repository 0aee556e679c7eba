/// The producer id and epoch the broker assigned.
struct InitProducerIDResponse: Sendable, Hashable {
    var throttleTimeMs: Int32
    var errorCode: KafkaErrorCode
    var producerID: Int64
    var producerEpoch: Int16
}
