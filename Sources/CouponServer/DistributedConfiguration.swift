import CouponStore
import RESP

/// Distributed mode: the gate in Redis, coupons in PostgreSQL.
public struct DistributedConfiguration: Sendable {
    public var redis: RedisConfiguration
    public var postgres: PostgresURL
    /// Run the outbox relay in the API process too (`serve --with-relay`).
    public var withRelay: Bool

    public init(redis: RedisConfiguration, postgres: PostgresURL, withRelay: Bool = false) {
        self.redis = redis
        self.postgres = postgres
        self.withRelay = withRelay
    }

    /// Reads `--redis`/`COUPONGATE_REDIS_URL` and `--postgres`/`COUPONGATE_POSTGRES_URL`.
    /// Returns nil when neither is given (the embedded default); both or neither are required.
    public init?(redis: String?, postgres: String?, withRelay: Bool, environment: [String: String]) throws(SettingError) {
        let settings = SettingReader(environment: environment)
        let redisSetting = settings.pick(redis, option: "redis", variable: "COUPONGATE_REDIS_URL")
        let postgresSetting = settings.pick(postgres, option: "postgres", variable: "COUPONGATE_POSTGRES_URL")
        let relay = try settings.flag(withRelay, option: "with-relay", variable: "COUPONGATE_WITH_RELAY")
        switch (redisSetting, postgresSetting) {
        case (nil, nil):
            if relay { throw SettingError("--with-relay needs distributed mode: give --redis URL and --postgres URL") }
            return nil
        case (nil, _?):
            throw SettingError("--postgres needs --redis too: distributed mode keeps the gate in Redis (or give neither for the embedded default)")
        case (_?, nil):
            throw SettingError(
                "--redis needs --postgres too: distributed mode stores coupons in PostgreSQL (or give neither for the embedded default)"
            )
        case (let redisSetting?, let postgresSetting?):
            let redis: RedisConfiguration
            do {
                redis = try RedisConfiguration(url: redisSetting.text)
            } catch {
                throw SettingError("invalid value for \(redisSetting.source): \(Self.message(of: error))")
            }
            let postgres: PostgresURL
            do {
                postgres = try PostgresURL(postgresSetting.text)
            } catch {
                throw SettingError("invalid value for \(postgresSetting.source): \(error.message)")
            }
            self.init(redis: redis, postgres: postgres, withRelay: relay)
        }
    }

    private static func message(of error: any Error) -> String {
        (error as? RedisClientError)?.message ?? "\(error)"
    }
}
