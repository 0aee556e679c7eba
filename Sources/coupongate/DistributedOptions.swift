import ArgumentParser

/// `--redis` and `--postgres`, shared by serve, relay and reconcile.
struct DistributedOptions: ParsableArguments {
    @Option(help: "Redis URL, redis://[[user]:password@]host[:port][/db] or unix:///path (COUPONGATE_REDIS_URL). Selects distributed mode.")
    var redis: String?

    @Option(help: "PostgreSQL URL, postgres://user[:password]@host[:port]/database (COUPONGATE_POSTGRES_URL). Selects distributed mode.")
    var postgres: String?
}
