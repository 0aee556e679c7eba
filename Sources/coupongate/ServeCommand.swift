import ArgumentParser
import CouponServer
import Foundation
import Hummingbird

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the HTTP API: on the embedded default (in-process gate, SQLite), or on Redis and PostgreSQL.",
        discussion: "Every option can also be set with the environment variable named in its help."
    )

    @Option(help: "Address to listen on (COUPONGATE_HOST; default 127.0.0.1).")
    var host: String?

    @Option(help: "Port to listen on, 0 for any free one (COUPONGATE_PORT; default 8080).")
    var port: String?

    @Option(help: "Directory for the SQLite database of the embedded default (COUPONGATE_DATA_DIR; default ./data).")
    var dataDir: String?

    @Option(help: "Coupon limit of the campaign 'default' when it is created (COUPONGATE_DEFAULT_LIMIT; default 100).")
    var defaultLimit: String?

    @Option(help: "Bearer token for the admin routes (COUPONGATE_ADMIN_TOKEN; generated and printed when unset).")
    var adminToken: String?

    @Option(help: "trace, debug, info, notice, warning, error or critical (COUPONGATE_LOG_LEVEL; default info).")
    var logLevel: String?

    @Option(help: "on or off: serve /metrics and /dashboard and record what they show (COUPONGATE_METRICS; default on).")
    var metrics: String?

    @Option(
        help:
            "on or off: answer applies known to be sold out in the channel pipeline, before the router (COUPONGATE_SOLD_OUT_FAST_PATH; default on)."
    )
    var soldOutFastPath: String?

    @Option(help: "Requests worked on at once; beyond it, 503 with Retry-After at once (COUPONGATE_MAX_IN_FLIGHT; default 4096).")
    var maxInFlight: String?

    @Option(help: "Seconds a keep-alive connection may stay idle (COUPONGATE_IDLE_TIMEOUT; default 60).")
    var idleTimeout: String?

    @Option(help: "Seconds a request head may take from its first byte; slower clients are cut off (COUPONGATE_HEADER_TIMEOUT; default 10).")
    var headerTimeout: String?

    @Option(help: "Applies per second one user may make, e.g. 5/s; beyond it 429 (COUPONGATE_RATE_LIMIT_USER; default off).")
    var rateLimitUser: String?

    @Option(help: "Applies per second one client address may make, e.g. 100/s; beyond it 429 (COUPONGATE_RATE_LIMIT_CLIENT; default off).")
    var rateLimitClient: String?

    @Option(
        help:
            "Distributed mode: Redis replicas a win's write must reach (WAIT) before it is answered 200; otherwise 503, retry (COUPONGATE_REDIS_WAIT_REPLICAS; default 0)."
    )
    var redisWaitReplicas: String?

    @Option(help: "query (users from ?userId=, the seed's contract; default) or jwt (users from a verified bearer token's sub) (COUPONGATE_AUTH).")
    var auth: String?

    @Option(help: "--auth jwt: the iss every token must carry (COUPONGATE_JWT_ISSUER).")
    var jwtIssuer: String?

    @Option(name: .customLong("jwt-hs256-secret"), help: "--auth jwt: an HS256 secret of at least 32 bytes (COUPONGATE_JWT_HS256_SECRET).")
    var jwtHS256Secret: String?

    @Option(help: "--auth jwt: a PEM file with an RS256 (RSA) or ES256 (P-256) public key (COUPONGATE_JWT_PUBLIC_KEY).")
    var jwtPublicKey: String?

    @OptionGroup var distributed: DistributedOptions

    @Flag(help: "In distributed mode, also run the outbox relay in this process (COUPONGATE_WITH_RELAY).")
    var withRelay = false

    func run() async throws {
        let flags = ServerConfiguration.Flags(
            host: self.host,
            port: self.port,
            dataDir: self.dataDir,
            defaultLimit: self.defaultLimit,
            adminToken: self.adminToken,
            logLevel: self.logLevel,
            redis: self.distributed.redis,
            redisCluster: self.distributed.redisCluster,
            postgres: self.distributed.postgres,
            mysql: self.distributed.mysql,
            withRelay: self.withRelay,
            kafka: self.distributed.kafkaFlags,
            metrics: self.metrics,
            soldOutFastPath: self.soldOutFastPath,
            maxInFlight: self.maxInFlight,
            idleTimeout: self.idleTimeout,
            headerTimeout: self.headerTimeout,
            rateLimitUser: self.rateLimitUser,
            rateLimitClient: self.rateLimitClient,
            redisWaitReplicas: self.redisWaitReplicas,
            auth: self.auth,
            jwtIssuer: self.jwtIssuer,
            jwtHS256Secret: self.jwtHS256Secret,
            jwtPublicKey: self.jwtPublicKey
        )
        let configuration = try ServerConfiguration(flags: flags, environment: ProcessInfo.processInfo.environment)
        if configuration.adminTokenGenerated {
            // Written straight to the file descriptor: a print() to a pipe would sit in a buffer.
            let line =
                "Admin token (generated for this run; set --admin-token or COUPONGATE_ADMIN_TOKEN to keep one): "
                + "\(configuration.adminToken.value)\n"
            FileHandle.standardOutput.write(Data(line.utf8))
        }
        let app = try await buildApplication(configuration)
        try await app.runService()
    }
}
