import CoreMetrics
import CouponCore
import CouponRedis
import Logging
import Prometheus

/// The service's metrics, recorded through swift-metrics into a Prometheus registry of its
/// own (no global bootstrap, so several apps in one test process stay apart) and served at
/// `GET /metrics`. Labels are bounded: outcome, route pattern, method, status, campaign —
/// never a user id.
public final class ServerMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    let factory: PrometheusMetricsFactory

    /// Applies by outcome, made once so the hot path only increments.
    private let outcomes: [ApplyOutcomeLabel: CoreMetrics.Counter]
    /// Time spent in the gate's `apply` (the embedded gate's lock, or the Redis round trip).
    let gateDuration: CoreMetrics.Timer
    /// Sold-out applies answered in the channel pipeline (also counted in the apply outcomes).
    let fastPathAnswers: CoreMetrics.Counter
    /// The embedded default's group commits into SQLite: time and winners per commit.
    let commitDuration: CoreMetrics.Timer
    let commitBatchSize: CoreMetrics.Recorder

    /// Apply outcomes as labelled in `coupongate_applies_total{outcome=…}`.
    enum ApplyOutcomeLabel: String, CaseIterable {
        case issued, duplicate
        case soldOut = "sold_out"
        case notOpen = "not_open"
        case closed, rejected
        case unknownCampaign = "unknown_campaign"
        case unavailable
        case rateLimited = "rate_limited"
        case replayed
        case idempotencyKeyReused = "idempotency_key_reused"
    }

    public init() {
        registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        // Sub-millisecond resolution: a sold-out answer takes microseconds.
        let fine: [Duration] = [
            .microseconds(50), .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1),
            .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50),
            .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2.5), .seconds(5),
        ]
        factory.defaultDurationHistogramBuckets = fine
        let batchBuckets: [Double] = [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 5000]
        factory.valueHistogramBuckets[RelayMetrics.batchSizeLabel] = batchBuckets
        factory.valueHistogramBuckets[RedisGateMetrics.issueBatchSizeLabel] = batchBuckets
        factory.valueHistogramBuckets["coupongate_store_commit_batch_size"] = batchBuckets
        self.factory = factory
        outcomes = Dictionary(
            uniqueKeysWithValues: ApplyOutcomeLabel.allCases.map { label in
                (label, CoreMetrics.Counter(label: "coupongate_applies_total", dimensions: [("outcome", label.rawValue)], factory: factory))
            }
        )
        gateDuration = CoreMetrics.Timer(label: "coupongate_gate_duration_seconds", factory: factory)
        fastPathAnswers = CoreMetrics.Counter(label: "coupongate_sold_out_fast_path_total", factory: factory)
        commitDuration = CoreMetrics.Timer(label: "coupongate_store_commit_duration_seconds", factory: factory)
        commitBatchSize = CoreMetrics.Recorder(label: "coupongate_store_commit_batch_size", aggregate: true, factory: factory)
    }

    func countApply(_ label: ApplyOutcomeLabel) {
        outcomes[label]?.increment()
    }

    func count(_ outcome: ApplyOutcome) {
        let label: ApplyOutcomeLabel
        switch outcome {
        case .issued: label = .issued
        case .alreadyIssued: label = .duplicate
        case .soldOut: label = .soldOut
        case .notOpenYet: label = .notOpen
        case .closed: label = .closed
        case .rateLimited: label = .rateLimited
        case .replayed: label = .replayed
        case .idempotencyKeyReused: label = .idempotencyKeyReused
        }
        countApply(label)
    }

    private let started = ContinuousClock.now

    /// Seconds since this app started, set when scraped: rates computed between two scrapes
    /// (the dashboard's) divide by the server's time, not the viewer's.
    func recordUptime() {
        let elapsed = ContinuousClock.now - started
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        CoreMetrics.Gauge(label: "coupongate_uptime_seconds", factory: factory).record(seconds)
    }

    /// Sets the per-campaign gauges from the gate's live counts (called when scraped).
    func recordCampaigns(_ statuses: [CampaignStatus]) {
        for status in statuses {
            let dimensions = [("campaign", status.campaign.id.rawValue)]
            CoreMetrics.Gauge(label: "coupongate_campaign_limit", dimensions: dimensions, factory: factory).record(status.campaign.limit)
            CoreMetrics.Gauge(label: "coupongate_campaign_issued", dimensions: dimensions, factory: factory).record(status.issued)
            CoreMetrics.Gauge(label: "coupongate_campaign_remaining", dimensions: dimensions, factory: factory).record(status.remaining)
        }
    }

    /// Measures the relays' backlog over `campaigns` in Redis and records it; a Redis that
    /// does not answer leaves the last values and is logged, not a failed scrape.
    func recordBacklog(of campaigns: [CampaignID], redis: RedisService, logger: Logger) async {
        do {
            var backlog = OutboxBacklog.empty
            for campaign in campaigns {
                backlog.add(try await OutboxBacklog.measure(campaign, redis: redis))
            }
            recordBacklog(backlog)
        } catch {
            logger.warning("Could not measure the outbox backlog for /metrics", metadata: ["error": "\(error)"])
        }
    }

    func recordBacklog(_ backlog: OutboxBacklog) {
        CoreMetrics.Gauge(label: "coupongate_relay_pending", factory: factory).record(backlog.unacknowledged)
        CoreMetrics.Gauge(label: "coupongate_relay_lag_seconds", factory: factory)
            .record(Double(backlog.oldestAgeMilliseconds ?? 0) / 1000)
        CoreMetrics.Gauge(label: "coupongate_dead_letters", factory: factory).record(backlog.deadLetters)
    }

    func counter(_ label: String, _ dimensions: [(String, String)]) -> CoreMetrics.Counter {
        CoreMetrics.Counter(label: label, dimensions: dimensions, factory: factory)
    }

    func timer(_ label: String, _ dimensions: [(String, String)]) -> CoreMetrics.Timer {
        CoreMetrics.Timer(label: label, dimensions: dimensions, factory: factory)
    }

    /// The Prometheus text exposition of everything recorded.
    public func exposition() -> [UInt8] {
        var buffer: [UInt8] = []
        buffer.reserveCapacity(registry.internalBufferCapacity())
        registry.emit(into: &buffer)
        return buffer
    }
}
