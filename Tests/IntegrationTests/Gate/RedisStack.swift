import CoreMetrics
import CouponCore
import CouponRedis
import CouponStore
import CouponTestSupport
import Foundation
import Logging
import RESP
import ServiceLifecycle
import Testing

/// One distributed deployment for a test: a private redis-server, a fresh database of record (PostgreSQL
/// unless the test picks MariaDB), and `instances` API instances (a client, a gate and a sold-out
/// watcher each) sharing them.
struct RedisStack: Sendable {
    let server: RedisServerProcess
    let store: any CouponStore
    let gates: [RedisGate]
    let clients: [RedisClient]
    let services: [any Service]
    /// A client of its own for the test's direct Redis calls.
    let admin: RedisClient

    static let logger: Logger = {
        var logger = Logger(label: "redis-stack")
        logger.logLevel = ProcessInfo.processInfo.environment["TEST_LOG"] == "1" ? .debug : .critical
        return logger
    }()

    /// Longer than the default second: the suites run in parallel on two cores, and a
    /// deadline is tested where it matters (the Redis-down test, the RESP tests).
    static func client(_ server: RedisServerProcess, timeout: Duration = .seconds(5)) -> RedisClient {
        var configuration = server.configuration()
        configuration.commandTimeout = timeout
        configuration.connectTimeout = .milliseconds(250)
        configuration.reconnectDelay = (.milliseconds(20), .milliseconds(200))
        return RedisClient(configuration: configuration, logger: Self.logger)
    }

    /// Builds the stack, runs its services while `body` runs, and tears everything down.
    static func with<T: Sendable>(
        instances: Int = 1,
        appendOnly: Bool = false,
        relay: OutboxRelay.Configuration? = nil,
        metrics: (any MetricsFactory)? = nil,
        database: RecordDatabase = .postgres,
        waitReplicas: Int = 0,
        _ body: @Sendable (RedisStack) async throws -> T
    ) async throws -> T {
        let server = try await RedisServerProcess.start(appendOnly: appendOnly)
        defer { server.stop() }
        return try await database.withStore { store in
            try await Self.with(
                server: server,
                store: store,
                instances: instances,
                relay: relay,
                metrics: metrics,
                waitReplicas: waitReplicas,
                body
            )
        }
    }

    private static func with<T: Sendable>(
        server: RedisServerProcess,
        store: any CouponStore,
        instances: Int,
        relay: OutboxRelay.Configuration?,
        metrics: (any MetricsFactory)?,
        waitReplicas: Int,
        _ body: @Sendable (RedisStack) async throws -> T
    ) async throws -> T {
        let clients = (0..<instances).map { _ in Self.client(server) }
        let gateMetrics = metrics.map { RedisGateMetrics(factory: $0) } ?? .init()
        let gates = clients.map {
            RedisGate(redis: $0, store: store, logger: Self.logger, metrics: gateMetrics, waitReplicas: waitReplicas)
        }
        let admin = Self.client(server)
        var services: [any Service] = clients + [admin]
        services += gates.map { SoldOutWatcher(gate: $0) }
        if let relay {
            let relayMetrics = metrics.map { RelayMetrics(factory: $0) } ?? .init()
            services.append(OutboxRelay(redis: admin, store: store, logger: Self.logger, configuration: relay, metrics: relayMetrics))
        }
        let stack = RedisStack(server: server, store: store, gates: gates, clients: clients, services: services, admin: admin)
        return try await withRunning(services) {
            try await eventually("every Redis client connects") { (clients + [admin]).allSatisfy(\.isConnected) }
            return try await body(stack)
        }
    }

    /// A campaign created through the first gate (database and Redis).
    @discardableResult
    func campaign(_ id: String, limit: Int64, startsAt: Timestamp? = nil, endsAt: Timestamp? = nil) async throws -> CampaignID {
        let campaign = try Campaign(id: CampaignID(validating: id), name: id, limit: limit, startsAt: startsAt, endsAt: endsAt, createdAt: .now)
        _ = try await self.gates[0].create(campaign)
        return campaign.id
    }

    /// How many times Redis has run a command since it started (INFO commandstats).
    func calls(of command: String) async throws -> Int {
        let info = try await self.admin.send(RedisCommand("INFO", ["commandstats"])).string ?? ""
        for line in info.split(whereSeparator: \.isNewline) where line.hasPrefix("cmdstat_\(command.lowercased()):") {
            let calls = line.split(separator: ",").first?.split(separator: "=").last
            return calls.flatMap { Int($0) } ?? 0
        }
        return 0
    }
}
