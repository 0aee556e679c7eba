import CouponAuth
import CouponCore
import CouponRedis
import CouponStore
import Foundation
import Hummingbird
import Logging
import ServiceLifecycle

/// Builds the CouponGate application: the embedded default (an in-process
/// gate over SQLite in `configuration.dataDirectory`), or distributed mode
/// (the Redis gate, PostgreSQL) when `configuration.distributed` is set.
///
/// Tests call this as `serve` does; nothing is listening until the returned
/// application runs.
/// - Parameters:
///   - configuration: the resolved settings.
///   - clock: where the embedded gate reads the time (tests move it to open and close campaigns).
///   - logger: the application's logger; one is made at `configuration.logLevel` when nil.
public func buildApplication(
    _ configuration: ServerConfiguration,
    clock: any WallClock = SystemWallClock(),
    logger: Logger? = nil
) async throws -> some ApplicationProtocol {
    var logger = logger ?? Logger(label: "coupongate")
    if logger.logLevel > configuration.logLevel || logger.logLevel == .info {
        logger.logLevel = configuration.logLevel
    }
    // Before the stores open: a bad key fails the start with nothing to close.
    let tokens = try await userTokens(configuration.authentication, logger: logger)
    let metrics = configuration.metricsEnabled ? ServerMetrics() : nil
    let parts: ApplicationParts
    if let distributed = configuration.distributed {
        parts = distributedParts(distributed, configuration: configuration, metrics: metrics, logger: logger)
    } else {
        parts = try await embeddedParts(configuration, clock: clock, metrics: metrics, logger: logger)
    }

    let router = Router(context: CouponRequestContext.self)
    // Before any route: a middleware wraps only the routes added after it. The request id
    // and the metrics sit outside the problem middleware: they see the final answer.
    let requestIDs = RequestIDMiddleware()
    router.add(middleware: requestIDs)
    let instruments = metrics.map { HTTPInstruments(metrics: $0) }
    if let instruments {
        router.add(middleware: HTTPMetricsMiddleware<CouponRequestContext>(instruments: instruments))
    }
    router.add(middleware: InFlightLimitMiddleware(limit: configuration.maxInFlight))
    router.add(middleware: ProblemMiddleware())
    // Distributed mode enforces the limits in the gate script (shared by every instance).
    let limitsInGate = configuration.distributed != nil
    var apply = ApplyController(
        gate: parts.gate,
        metrics: metrics,
        rateLimiter: limitsInGate ? nil : RateLimiter(userRate: configuration.userRateLimit, clientRate: configuration.clientRateLimit),
        tokens: tokens
    )
    apply.gateLimitsClients = limitsInGate && configuration.clientRateLimit != nil
    apply.addRoutes(to: router)
    // Only where the normal path could answer nothing but the same 422: no JWT to verify, no
    // rate limit to charge (idempotency keys and bodies are checked per request).
    let fastPath =
        configuration.soldOutFastPath && tokens == nil && configuration.userRateLimit == nil && configuration.clientRateLimit == nil
        ? SoldOutFastPath(
            gate: parts.gate,
            bodies: apply.soldOut,
            requestIDs: requestIDs.counter,
            date: HTTPDateHeader(),
            metrics: metrics,
            instruments: instruments
        ) : nil
    if let metrics {
        MetricsController(metrics: metrics, gate: parts.gate, store: parts.store, scrape: parts.scrape, logger: logger)
            .addRoutes(to: router)
    }
    CampaignController(gate: parts.gate, store: parts.store, clock: clock, tokens: tokens).addRoutes(to: router)
    HealthController(gate: parts.gate).addRoutes(to: router)
    OpenAPIController().addRoutes(to: router)
    AdminController(gate: parts.gate, token: configuration.adminToken, clock: clock).addRoutes(to: router)

    // Services stop in reverse order: the HTTP server first (in-flight requests
    // finish), then what the gate needs (commit writer or relay, Redis, the store).
    var app = Application(
        router: router,
        server: .http1(
            configuration: .init(idleTimeout: .seconds(configuration.idleTimeoutSeconds)),
            headerTimeout: .seconds(configuration.headerTimeoutSeconds),
            soldOutFastPath: fastPath
        ),
        // A deep accept queue: a drop opens thousands of connections in the same second
        // (the kernel caps it at net.core.somaxconn).
        configuration: .init(
            address: .hostname(configuration.host, port: configuration.port),
            serverName: nil,
            backlog: ServerConfiguration.acceptBacklog
        ),
        services: parts.services,
        logger: logger
    )
    if let prepare = parts.beforeServing {
        app.beforeServerStarts(perform: prepare)
    }
    return app
}

/// The verifier of `--auth jwt`, or nil in the seed's query-parameter mode (which says so at start).
func userTokens(_ authentication: UserAuthentication, logger: Logger) async throws -> UserTokenVerifier? {
    switch authentication {
    case .queryParameter:
        logger.notice(
            "Users come from the userId query parameter: the seed's contract, unauthenticated, for load tests and trusted callers; --auth jwt takes them from verified tokens"
        )
        return nil
    case .jwt(let settings):
        var pem: String?
        if let path = settings.publicKeyPath {
            do {
                pem = try String(contentsOfFile: path, encoding: .utf8)
            } catch {
                throw StartupError("cannot read the --jwt-public-key file \(path): \(error.localizedDescription)")
            }
        }
        do {
            let verifier = try await UserTokenVerifier.make(issuer: settings.issuer, hs256Secret: settings.hs256Secret, publicKeyPEM: pem)
            logger.info("Users come from verified JWTs (sub)", metadata: ["issuer": "\(settings.issuer)"])
            return verifier
        } catch {
            throw StartupError("--auth jwt: \(error.description)")
        }
    }
}

/// What differs between the two modes.
struct ApplicationParts {
    var gate: any CouponGate
    var store: any CouponStore
    var services: [any Service]
    /// Runs once the services run, before the server accepts connections.
    var beforeServing: (@Sendable () async throws -> Void)?
    /// Extra figures to read when `/metrics` is scraped (distributed mode: the relays' backlog).
    var scrape: (@Sendable (ServerMetrics, [CampaignID]) async -> Void)?
}

// MARK: Embedded default

func embeddedParts(
    _ configuration: ServerConfiguration,
    clock: any WallClock,
    metrics: ServerMetrics?,
    logger: Logger
) async throws -> ApplicationParts {
    let store = try await SQLiteCouponStore.open(directory: configuration.dataDirectory, logger: logger)
    do {
        if try await store.campaigns().first(where: { $0.id == .default }) == nil {
            try await store.write([.createCampaign(try defaultCampaign(limit: configuration.defaultLimit, clock: clock))])
            logger.info("Created campaign 'default'", metadata: ["limit": "\(configuration.defaultLimit)"])
        }
    } catch {
        await store.close()
        throw error
    }
    let queue = CommitQueue()
    let gate = try await EmbeddedGate.load(from: store, queue: queue, clock: clock)
    return ApplicationParts(
        gate: gate,
        store: store,
        services: [StoreService(store: store), CommitWriter(queue: queue, store: store, logger: logger, metrics: metrics)]
    )
}

/// Closes the SQLite store after everything that uses it has stopped.
struct StoreService: Service {
    let store: SQLiteCouponStore

    func run() async {
        try? await gracefulShutdown()
        await self.store.close()
    }
}

// MARK: Distributed mode

func distributedParts(
    _ distributed: DistributedConfiguration,
    configuration: ServerConfiguration,
    metrics: ServerMetrics?,
    logger: Logger
) -> ApplicationParts {
    let store = distributed.database.makeStore(logger: logger)
    let redis = distributed.redis.makeClient(logger: logger)
    let factory = metrics?.factory
    let gate = RedisGate(
        redis: redis,
        store: store,
        logger: logger,
        metrics: factory.map { RedisGateMetrics(factory: $0) } ?? .init(),
        userRate: configuration.userRateLimit,
        clientRate: configuration.clientRateLimit,
        waitReplicas: configuration.redisWaitReplicas
    )
    let startup = DistributedStartup(store: store, redis: redis, logger: logger)
    var services: [any Service] = [store, redis, SoldOutWatcher(gate: gate)]
    if distributed.withRelay {
        let metrics = factory.map { RelayMetrics(factory: $0) } ?? .init()
        services += makeRelay(distributed, store: store, redis: redis, startup: startup, metrics: metrics, logger: logger).services
    }
    let limit = configuration.defaultLimit
    return ApplicationParts(
        gate: gate,
        store: store,
        services: services,
        beforeServing: {
            try await startup.prepare()
            try await ensureDefaultCampaign(limit: limit, gate: gate, logger: logger)
        },
        scrape: { metrics, campaigns in
            await metrics.recordBacklog(of: campaigns, redis: redis, logger: logger)
        }
    )
}

/// Creates the campaign `default` in distributed mode if the database lacks it.
func ensureDefaultCampaign(limit: Int64, gate: RedisGate, logger: Logger) async throws {
    do {
        _ = try await gate.status(of: .default)
    } catch let error as CouponError where error.code == .unknownCampaign {
        do {
            _ = try await gate.create(try defaultCampaign(limit: limit, clock: SystemWallClock()))
            logger.info("Created campaign 'default'", metadata: ["limit": "\(limit)"])
        } catch let error as CouponError where error.code == .campaignExists {
            // Another instance created it first.
        }
    }
}

func defaultCampaign(limit: Int64, clock: any WallClock) throws -> Campaign {
    try Campaign(id: .default, name: "default", limit: limit, createdAt: clock.now())
}
