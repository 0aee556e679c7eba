import CouponCore
import CouponStore
import Hummingbird
import Logging
import ServiceLifecycle

/// Builds the CouponGate application on the embedded default: an in-process
/// gate over a SQLite store in `configuration.dataDirectory`.
///
/// Tests call this as `serve` does; nothing is listening until the returned
/// application runs.
/// - Parameters:
///   - configuration: the resolved settings.
///   - clock: where the gate reads the time (tests move it to open and close campaigns).
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

    let store = try await SQLiteCouponStore.open(directory: configuration.dataDirectory, logger: logger)
    do {
        try await ensureDefaultCampaign(limit: configuration.defaultLimit, store: store, clock: clock, logger: logger)
    } catch {
        await store.close()
        throw error
    }
    let queue = CommitQueue()
    let gate = try await EmbeddedGate.load(from: store, queue: queue, clock: clock)

    let router = Router(context: BasicRequestContext.self)
    // Before any route: a middleware wraps only the routes added after it.
    router.add(middleware: ProblemMiddleware())
    ApplyController(gate: gate).addRoutes(to: router)
    CampaignController(gate: gate, store: store, clock: clock).addRoutes(to: router)
    HealthController(gate: gate).addRoutes(to: router)
    AdminController(gate: gate, token: configuration.adminToken, clock: clock).addRoutes(to: router)

    // Services stop in reverse order: the HTTP server first (in-flight requests
    // finish), then the commit writer (drains the queue), then the store closes.
    return Application(
        router: router,
        server: .http1(configuration: .init(idleTimeout: .seconds(configuration.idleTimeoutSeconds))),
        configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: nil),
        services: [
            StoreService(store: store),
            CommitWriter(queue: queue, store: store, logger: logger),
        ],
        logger: logger
    )
}

/// Creates the campaign `default` that `POST /coupon/apply` acts on, if it is missing.
private func ensureDefaultCampaign(limit: Int64, store: SQLiteCouponStore, clock: any WallClock, logger: Logger) async throws {
    if let existing = try await store.campaigns().first(where: { $0.id == .default }) {
        if existing.limit != limit {
            logger.notice(
                "Campaign 'default' exists with another limit; keeping it (reset or create a campaign to change limits)",
                metadata: ["limit": "\(existing.limit)", "configured": "\(limit)"]
            )
        }
        return
    }
    let campaign = try Campaign(id: .default, name: "default", limit: limit, createdAt: clock.now())
    try await store.write([.createCampaign(campaign)])
    logger.info("Created campaign 'default'", metadata: ["limit": "\(limit)"])
}

/// Closes the store after everything that uses it has stopped.
struct StoreService: Service {
    let store: SQLiteCouponStore

    func run() async {
        try? await gracefulShutdown()
        await self.store.close()
    }
}
