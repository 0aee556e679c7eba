import CoreMetrics

/// What a relay records: coupons per batch, the write of a batch to its sink (the database, or
/// Kafka: then the produce latency), failed writes, and entries sent to the dead-letter stream.
public struct RelayMetrics: Sendable {
    /// The label of the batch-size histogram, so a Prometheus factory can give it buckets.
    public static let batchSizeLabel = "coupongate_relay_batch_size"

    let batchSize: CoreMetrics.Recorder
    let insert: CoreMetrics.Timer
    let deadLetters: CoreMetrics.Counter
    let writeErrors: CoreMetrics.Counter

    /// Records into `factory`; the default records nothing.
    public init(factory: any MetricsFactory = NOOPMetricsHandler.instance) {
        batchSize = CoreMetrics.Recorder(label: Self.batchSizeLabel, dimensions: [], aggregate: true, factory: factory)
        insert = CoreMetrics.Timer(label: "coupongate_relay_insert_duration_seconds", factory: factory)
        deadLetters = CoreMetrics.Counter(label: "coupongate_relay_dead_letters_total", factory: factory)
        writeErrors = CoreMetrics.Counter(label: "coupongate_relay_write_errors_total", factory: factory)
    }
}
