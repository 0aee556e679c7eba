import CoreMetrics

/// What the Redis gate records: the gate script's round trip and users per call, failed Redis calls, and
/// applies answered from the local sold-out cache (no Redis call at all).
public struct RedisGateMetrics: Sendable {
    /// The label of the batch-size histogram, so a Prometheus factory can give it buckets.
    public static let issueBatchSizeLabel = "coupongate_redis_issue_batch_size"

    let issueCall: CoreMetrics.Timer
    /// Users per gate-script call: how much the batching saves under load.
    let issueBatchSize: CoreMetrics.Recorder
    let redisErrors: CoreMetrics.Counter
    let localSoldOut: CoreMetrics.Counter

    /// Records into `factory`; the default records nothing.
    public init(factory: any MetricsFactory = NOOPMetricsHandler.instance) {
        issueCall = CoreMetrics.Timer(
            label: "coupongate_redis_call_duration_seconds",
            dimensions: [("command", "issue")],
            factory: factory
        )
        issueBatchSize = CoreMetrics.Recorder(label: Self.issueBatchSizeLabel, dimensions: [], aggregate: true, factory: factory)
        redisErrors = CoreMetrics.Counter(label: "coupongate_redis_errors_total", factory: factory)
        localSoldOut = CoreMetrics.Counter(label: "coupongate_sold_out_local_total", factory: factory)
    }
}
