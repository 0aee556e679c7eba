import CoreMetrics

/// What the Redis gate records: the gate script's round trip, failed Redis calls, and
/// applies answered from the local sold-out cache (no Redis call at all).
public struct RedisGateMetrics: Sendable {
    let issueCall: CoreMetrics.Timer
    let redisErrors: CoreMetrics.Counter
    let localSoldOut: CoreMetrics.Counter

    /// Records into `factory`; the default records nothing.
    public init(factory: any MetricsFactory = NOOPMetricsHandler.instance) {
        issueCall = CoreMetrics.Timer(
            label: "coupongate_redis_call_duration_seconds",
            dimensions: [("command", "issue")],
            factory: factory
        )
        redisErrors = CoreMetrics.Counter(label: "coupongate_redis_errors_total", factory: factory)
        localSoldOut = CoreMetrics.Counter(label: "coupongate_sold_out_local_total", factory: factory)
    }
}
