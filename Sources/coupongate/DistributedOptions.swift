import ArgumentParser
import CouponServer

/// `--redis` and the database of record (`--postgres` or `--mysql`), shared by serve, relay and reconcile.
struct DistributedOptions: ParsableArguments {
    @Option(help: "Redis URL, redis://[[user]:password@]host[:port][/db] or unix:///path (COUPONGATE_REDIS_URL). Selects distributed mode.")
    var redis: String?

    @Option(
        help:
            "Redis Cluster seed nodes instead of --redis, comma-separated redis:// URLs, e.g. redis://10.0.0.1:7000,redis://10.0.0.2:7000 (COUPONGATE_REDIS_CLUSTER)."
    )
    var redisCluster: String?

    @Option(help: "PostgreSQL URL, postgres://user[:password]@host[:port]/database (COUPONGATE_POSTGRES_URL). Selects distributed mode.")
    var postgres: String?

    @Option(
        help:
            "MySQL or MariaDB URL, mysql://user[:password]@host[:port]/database[?socket=PATH&ssl-mode=required] (COUPONGATE_MYSQL_URL). Instead of --postgres."
    )
    var mysql: String?

    /// Both URLs, from the flags or the environment, for a command that only works in distributed mode.
    func required(by command: String, environment: [String: String]) throws -> DistributedConfiguration {
        guard
            let distributed = try DistributedConfiguration(
                redis: self.redis,
                redisCluster: self.redisCluster,
                postgres: self.postgres,
                mysql: self.mysql,
                withRelay: false,
                environment: environment
            )
        else {
            throw ValidationError(
                "\(command) needs --redis URL and a database of record, --postgres URL or --mysql URL (or COUPONGATE_REDIS_URL and COUPONGATE_POSTGRES_URL or COUPONGATE_MYSQL_URL)"
            )
        }
        return distributed
    }
}
