import CouponCore
import Logging

/// Everything `coupongate serve` can be told, with its defaults.
public struct ServerConfiguration: Sendable {
    /// Address to listen on; loopback unless told otherwise.
    public var host: String = "127.0.0.1"
    /// Port to listen on; 0 picks a free one.
    public var port: Int = 8080
    /// Where the embedded store keeps `coupongate.sqlite`.
    public var dataDirectory: String = "data"
    /// Limit of the campaign `default`, used when it does not exist yet.
    public var defaultLimit: Int64 = 100
    /// Bearer token for the admin routes; generated at start when not configured.
    public var adminToken: AdminToken
    /// Whether ``adminToken`` was generated (so `serve` prints it).
    public var adminTokenGenerated: Bool
    public var logLevel: Logger.Level = .info
    /// Seconds a keep-alive connection may stay idle before it is closed.
    public var idleTimeoutSeconds: Int64 = 60
    /// Seconds a request head may take from its first byte to its end (slowloris clients).
    public var headerTimeoutSeconds: Int64 = 10
    /// Pending connections the kernel may queue before `accept`.
    static let acceptBacklog = 4096
    /// Requests one instance works on at once; more are answered 503 with `Retry-After` at once.
    /// Above the seed's 1,000-VU spike, so load tests never see it; a bound, not a tuning knob.
    public var maxInFlight: Int = 4096
    /// Applies per second (and burst) one user may make; nil: no limit.
    public var userRateLimit: Double?
    /// Applies per second (and burst) one client address may make; nil: no limit.
    public var clientRateLimit: Double?
    /// Distributed mode: Redis replicas a win must reach (`WAIT`) before it is answered 200; 0: none.
    public var redisWaitReplicas: Int = 0
    /// Where an apply's user comes from.
    public var authentication: UserAuthentication = .queryParameter
    /// Serve `/metrics` and `/dashboard` and record the metrics they show.
    public var metricsEnabled = true
    /// Answer applies known to be sold out in the channel pipeline, before Hummingbird (the same
    /// answer, at a fraction of the cost); off: every request takes the router.
    public var soldOutFastPath = true
    /// Redis and PostgreSQL, when given; nil runs the embedded default.
    public var distributed: DistributedConfiguration?

    public init(adminToken: AdminToken? = nil) {
        self.adminToken = adminToken ?? .generate()
        self.adminTokenGenerated = adminToken == nil
    }
}

// MARK: Reading settings from flags and the environment

extension ServerConfiguration {
    /// The raw text of each setting as given by a flag, before validation.
    public struct Flags: Sendable {
        public var host: String?
        public var port: String?
        public var dataDir: String?
        public var defaultLimit: String?
        public var adminToken: String?
        public var logLevel: String?
        public var redis: String?
        public var redisCluster: String?
        public var postgres: String?
        public var mysql: String?
        public var withRelay: Bool
        public var kafka: DistributedConfiguration.KafkaFlags
        public var metrics: String?
        public var soldOutFastPath: String?
        public var maxInFlight: String?
        public var idleTimeout: String?
        public var headerTimeout: String?
        public var rateLimitUser: String?
        public var rateLimitClient: String?
        public var redisWaitReplicas: String?
        public var auth: String?
        public var jwtIssuer: String?
        public var jwtHS256Secret: String?
        public var jwtPublicKey: String?

        public init(
            host: String? = nil,
            port: String? = nil,
            dataDir: String? = nil,
            defaultLimit: String? = nil,
            adminToken: String? = nil,
            logLevel: String? = nil,
            redis: String? = nil,
            redisCluster: String? = nil,
            postgres: String? = nil,
            mysql: String? = nil,
            withRelay: Bool = false,
            kafka: DistributedConfiguration.KafkaFlags = .init(),
            metrics: String? = nil,
            soldOutFastPath: String? = nil,
            maxInFlight: String? = nil,
            idleTimeout: String? = nil,
            headerTimeout: String? = nil,
            rateLimitUser: String? = nil,
            rateLimitClient: String? = nil,
            redisWaitReplicas: String? = nil,
            auth: String? = nil,
            jwtIssuer: String? = nil,
            jwtHS256Secret: String? = nil,
            jwtPublicKey: String? = nil
        ) {
            self.host = host
            self.port = port
            self.dataDir = dataDir
            self.defaultLimit = defaultLimit
            self.adminToken = adminToken
            self.logLevel = logLevel
            self.redis = redis
            self.redisCluster = redisCluster
            self.postgres = postgres
            self.mysql = mysql
            self.withRelay = withRelay
            self.kafka = kafka
            self.metrics = metrics
            self.soldOutFastPath = soldOutFastPath
            self.maxInFlight = maxInFlight
            self.idleTimeout = idleTimeout
            self.headerTimeout = headerTimeout
            self.rateLimitUser = rateLimitUser
            self.rateLimitClient = rateLimitClient
            self.redisWaitReplicas = redisWaitReplicas
            self.auth = auth
            self.jwtIssuer = jwtIssuer
            self.jwtHS256Secret = jwtHS256Secret
            self.jwtPublicKey = jwtPublicKey
        }
    }

    /// Resolves each setting from its flag, else its `COUPONGATE_…` environment variable, else the default.
    public init(flags: Flags, environment: [String: String]) throws(SettingError) {
        let settings = SettingReader(environment: environment)
        func pick(_ flag: String?, _ option: String, _ variable: String) -> Setting? {
            settings.pick(flag, option: option, variable: variable)
        }

        var token: AdminToken?
        if let setting = pick(flags.adminToken, "admin-token", "COUPONGATE_ADMIN_TOKEN") {
            guard setting.text.utf8.count >= 16, setting.text.allSatisfy({ $0.isASCII && !$0.isWhitespace }) else {
                throw SettingError(
                    "invalid value for \(setting.source): the admin token must be at least 16 printable ASCII characters without spaces"
                )
            }
            token = AdminToken(setting.text)
        }
        self.init(adminToken: token)

        if let setting = pick(flags.host, "host", "COUPONGATE_HOST") {
            guard !setting.text.isEmpty, !setting.text.contains(where: \.isWhitespace) else {
                throw setting.invalid("expected a host name or IP address such as 127.0.0.1")
            }
            self.host = setting.text
        }
        if let setting = pick(flags.port, "port", "COUPONGATE_PORT") {
            guard let port = Int(setting.text), (0...65535).contains(port) else {
                throw setting.invalid("expected a port number from 0 to 65535")
            }
            self.port = port
        }
        if let setting = pick(flags.dataDir, "data-dir", "COUPONGATE_DATA_DIR") {
            guard !setting.text.isEmpty else { throw setting.invalid("expected a directory path") }
            self.dataDirectory = setting.text
        }
        if let setting = pick(flags.defaultLimit, "default-limit", "COUPONGATE_DEFAULT_LIMIT") {
            guard let limit = Int64(setting.text), (1...Campaign.maximumLimit).contains(limit) else {
                throw setting.invalid("expected an integer from 1 to \(Campaign.maximumLimit)")
            }
            self.defaultLimit = limit
        }
        self.distributed = try DistributedConfiguration(
            redis: flags.redis,
            redisCluster: flags.redisCluster,
            postgres: flags.postgres,
            mysql: flags.mysql,
            withRelay: flags.withRelay,
            kafka: flags.kafka,
            environment: environment
        )
        if let distributed = self.distributed, distributed.kafka != nil, !distributed.withRelay {
            throw SettingError("--kafka is the relay's sink: serve writes to Kafka only with --with-relay (or run coupongate relay --kafka)")
        }
        if let setting = pick(flags.metrics, "metrics", "COUPONGATE_METRICS") {
            self.metricsEnabled = try setting.onOrOff()
        }
        if let setting = pick(flags.soldOutFastPath, "sold-out-fast-path", "COUPONGATE_SOLD_OUT_FAST_PATH") {
            self.soldOutFastPath = try setting.onOrOff()
        }
        if let setting = pick(flags.maxInFlight, "max-in-flight", "COUPONGATE_MAX_IN_FLIGHT") {
            guard let limit = Int(setting.text), (1...1_000_000).contains(limit) else {
                throw setting.invalid("expected an integer from 1 to 1000000")
            }
            self.maxInFlight = limit
        }
        if let setting = pick(flags.idleTimeout, "idle-timeout", "COUPONGATE_IDLE_TIMEOUT") {
            guard let seconds = Int64(setting.text), (1...3600).contains(seconds) else {
                throw setting.invalid("expected seconds from 1 to 3600")
            }
            self.idleTimeoutSeconds = seconds
        }
        if let setting = pick(flags.headerTimeout, "header-timeout", "COUPONGATE_HEADER_TIMEOUT") {
            guard let seconds = Int64(setting.text), (1...3600).contains(seconds) else {
                throw setting.invalid("expected seconds from 1 to 3600")
            }
            self.headerTimeoutSeconds = seconds
        }
        func rate(_ setting: Setting) throws(SettingError) -> Double {
            // "5" or "5/s": applies per second, which is also the burst.
            let text = setting.text.hasSuffix("/s") ? String(setting.text.dropLast(2)) : setting.text
            guard let rate = Double(text), rate.isFinite, rate > 0, rate <= 1_000_000 else {
                throw setting.invalid("expected applies per second such as 5 or 5/s (more than 0, at most 1000000)")
            }
            return rate
        }
        if let setting = pick(flags.rateLimitUser, "rate-limit-user", "COUPONGATE_RATE_LIMIT_USER") {
            self.userRateLimit = try rate(setting)
        }
        if let setting = pick(flags.rateLimitClient, "rate-limit-client", "COUPONGATE_RATE_LIMIT_CLIENT") {
            self.clientRateLimit = try rate(setting)
        }
        if let setting = pick(flags.redisWaitReplicas, "redis-wait-replicas", "COUPONGATE_REDIS_WAIT_REPLICAS") {
            guard let replicas = Int(setting.text), (0...16).contains(replicas) else {
                throw setting.invalid("expected a number of replicas from 0 to 16")
            }
            guard replicas == 0 || self.distributed != nil else {
                throw SettingError("\(setting.source) needs distributed mode (--redis): the embedded default has no Redis replicas")
            }
            self.redisWaitReplicas = replicas
        }
        let issuer = pick(flags.jwtIssuer, "jwt-issuer", "COUPONGATE_JWT_ISSUER")
        let secret = pick(flags.jwtHS256Secret, "jwt-hs256-secret", "COUPONGATE_JWT_HS256_SECRET")
        let publicKey = pick(flags.jwtPublicKey, "jwt-public-key", "COUPONGATE_JWT_PUBLIC_KEY")
        switch pick(flags.auth, "auth", "COUPONGATE_AUTH").map({ ($0, $0.text.lowercased()) }) {
        case nil, (_, "query")?:
            if let stray = issuer ?? secret ?? publicKey {
                throw SettingError("\(stray.source) is set, but users come from the userId parameter; add --auth jwt")
            }
        case (let setting, "jwt")?:
            guard let issuer, !issuer.text.isEmpty else {
                throw SettingError("--auth jwt needs the issuer its tokens must carry: --jwt-issuer or COUPONGATE_JWT_ISSUER")
            }
            guard secret != nil || publicKey != nil else {
                throw setting.invalid(
                    "jwt needs a key: --jwt-hs256-secret (at least 32 bytes) or --jwt-public-key (an RS256 or ES256 public key PEM file)"
                )
            }
            if let secret, secret.text.utf8.count < 32 {
                throw secret.invalid("expected a secret of at least 32 bytes")
            }
            self.authentication = .jwt(JWTSettings(issuer: issuer.text, hs256Secret: secret?.text, publicKeyPath: publicKey?.text))
        case (let setting, _)?:
            throw setting.invalid("expected query (the userId parameter, the seed's contract) or jwt")
        }
        if let setting = pick(flags.logLevel, "log-level", "COUPONGATE_LOG_LEVEL") {
            guard let level = Logger.Level(rawValue: setting.text.lowercased()) else {
                throw setting.invalid("expected one of trace, debug, info, notice, warning, error, critical")
            }
            self.logLevel = level
        }
    }
}

/// Where an apply's user comes from.
public enum UserAuthentication: Sendable, Equatable {
    /// `?userId=`: the seed's contract, unauthenticated; for load tests and trusted callers.
    case queryParameter
    /// `sub` of a verified bearer JWT; `userId` is refused.
    case jwt(JWTSettings)
}

/// `--auth jwt`'s settings: the issuer tokens must carry and the key(s) that sign them.
public struct JWTSettings: Sendable, Equatable {
    public var issuer: String
    public var hs256Secret: String?
    /// A PEM file with an RSA (RS256) or EC P-256 (ES256) public key.
    public var publicKeyPath: String?

    public init(issuer: String, hs256Secret: String? = nil, publicKeyPath: String? = nil) {
        self.issuer = issuer
        self.hs256Secret = hs256Secret
        self.publicKeyPath = publicKeyPath
    }
}
