import CoreMetrics
import CouponCore
import CouponKafka
import CouponRedis
import CouponStore
import Hummingbird
import Kafka
import Logging
import ServiceLifecycle
import UnixSignals

/// `coupongate relay`: the outbox relay on its own, with the clients it needs.
///
/// Runs until SIGTERM or SIGINT; then the batch in progress is written and
/// acknowledged (or left pending for another relay) before it exits.
/// With `metricsAddress`, it also serves `GET /metrics` there: batch sizes, insert times,
/// dead letters, and the backlog of every campaign's outbox.
public func runRelay(
    _ distributed: DistributedConfiguration,
    relay: OutboxRelay.Configuration = .init(),
    metricsAddress: (host: String, port: Int)? = nil,
    logger: Logger
) async throws {
    let store = distributed.database.makeStore(logger: logger)
    let redis = distributed.redis.makeClient(logger: logger)
    let startup = DistributedStartup(store: store, redis: redis, logger: logger)
    let metrics = metricsAddress == nil ? nil : ServerMetrics()
    let (outboxRelay, relayServices, producer) = makeRelay(
        distributed,
        store: store,
        redis: redis,
        startup: startup,
        configuration: relay,
        metrics: metrics.map { RelayMetrics(factory: $0.factory) } ?? .init(),
        logger: logger
    )
    var services: [any Service] = [store, redis] + relayServices + [RelayWatchdog(relay: outboxRelay, logger: logger)]
    if let metrics, let metricsAddress {
        services.append(
            metricsApplication(metrics, address: metricsAddress, logger: logger) {
                var campaigns: [CampaignID] = []
                do {
                    campaigns = try await store.campaigns().prefix(MetricsController<BasicRequestContext>.campaignGaugeLimit).map(\.id)
                } catch {
                    logger.warning("Could not read campaigns for /metrics", metadata: ["error": "\(error)"])
                }
                await metrics.recordBacklog(of: campaigns, redis: redis, logger: logger)
                if let producer {
                    Gauge(label: "coupongate_kafka_records_in_flight", factory: metrics.factory).record(producer.recordsInFlight)
                }
                metrics.recordUptime()
            }
        )
    }
    let group = ServiceGroup(
        configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
    )
    try await group.run()
}

/// The relay with its sink (the database, or Kafka with `distributed.kafka`) and the services to
/// run for it, in order: the Kafka producer first, so it stops after the relay and sends what the
/// relay's last batch handed it; then the relay, once the dependencies (and the topic) are ready.
func makeRelay(
    _ distributed: DistributedConfiguration,
    store: any CouponStore,
    redis: RedisService,
    startup: DistributedStartup,
    configuration: OutboxRelay.Configuration = .init(),
    metrics: RelayMetrics,
    logger: Logger
) -> (relay: OutboxRelay, services: [any Service], producer: KafkaProducer?) {
    guard let kafka = distributed.kafka else {
        let relay = OutboxRelay(redis: redis, store: store, logger: logger, configuration: configuration, metrics: metrics)
        return (relay, [StartingService(before: { try await startup.prepare() }, then: relay)], nil)
    }
    let sink = KafkaOutboxSink(settings: kafka, logger: logger)
    let relay = OutboxRelay(redis: redis, store: store, sink: sink, logger: logger, configuration: configuration, metrics: metrics)
    let starting = StartingService(
        before: {
            try await startup.prepare()
            try await sink.prepare()
        },
        then: relay
    )
    return (relay, [sink.producer, starting], sink.producer)
}

/// `coupongate reconcile`: compares Redis winners, the outbox and database rows for one campaign.
public func reconcile(_ campaign: CampaignID, repair: Bool, distributed: DistributedConfiguration, logger: Logger) async throws -> Reconciler.Report {
    let store = distributed.database.makeStore(logger: logger)
    let redis = distributed.redis.makeClient(logger: logger)
    return try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await store.run() }
        group.addTask { try await redis.run() }
        defer { group.cancelAll() }
        try await DistributedStartup(store: store, redis: redis, logger: logger).prepare()
        return try await Reconciler(redis: redis, store: store).reconcile(campaign, repair: repair)
    }
}

/// Runs `prepare` (waiting for the dependencies), then the wrapped service.
struct StartingService<Wrapped: Service>: Service {
    let before: @Sendable () async throws -> Void
    let then: Wrapped

    func run() async throws {
        try await self.before()
        try await self.then.run()
    }
}

/// `coupongate consume`: reads coupon events from Kafka into the database of record.
///
/// Runs until SIGTERM or SIGINT; then the batch in hand is written and committed and the consumer
/// leaves its group. With `metricsAddress`, it also serves `GET /metrics` there.
public func runConsumer(
    _ database: DistributedConfiguration.Database,
    settings: CouponEventConsumer.Settings,
    metricsAddress: (host: String, port: Int)? = nil,
    logger: Logger
) async throws {
    let store = database.makeStore(logger: logger)
    let metrics = metricsAddress == nil ? nil : ServerMetrics()
    let consumer = CouponEventConsumer(
        settings: settings,
        store: store,
        metrics: metrics.map { CouponConsumerMetrics(factory: $0.factory) } ?? .init(),
        logger: logger
    )
    let startup = DistributedStartup(store: store, redis: nil, logger: logger)
    // The dead-letter producer is listed before the consumer, so it stops after it.
    var services: [any Service] = [
        store, consumer.deadLetterProducer,
        StartingService(
            before: {
                try await startup.prepare()
                try await consumer.prepare()
            },
            then: consumer
        ),
    ]
    if let metrics, let metricsAddress {
        services.append(metricsApplication(metrics, address: metricsAddress, logger: logger) { metrics.recordUptime() })
    }
    let group = ServiceGroup(
        configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
    )
    try await group.run()
}

/// A `GET /metrics` endpoint of its own, for the processes without the API (relay, consume);
/// `refresh` updates the gauges read at scrape time.
func metricsApplication(
    _ metrics: ServerMetrics,
    address: (host: String, port: Int),
    logger: Logger,
    refresh: @escaping @Sendable () async -> Void
) -> some Service {
    let router = Router()
    router.get("/metrics") { _, _ in
        await refresh()
        return MetricsController<BasicRequestContext>.exposition(metrics)
    }
    // The same live page as the API's, here showing the relay's or the consumer's lag.
    router.get("/dashboard") { _, _ in MetricsController<BasicRequestContext>.dashboard() }
    return Application(
        router: router,
        configuration: .init(address: .hostname(address.host, port: address.port), serverName: nil),
        logger: logger
    )
}
