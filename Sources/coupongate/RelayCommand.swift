import ArgumentParser
import CouponRedis
import CouponServer
import Foundation
import Logging

struct RelayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "relay",
        abstract:
            "Move issued coupons from the Redis outbox into the database of record, or to Kafka with --kafka (run one or more beside the API instances)."
    )

    @OptionGroup var distributed: DistributedOptions

    @Option(help: "Outbox entries read per stream and batch; an entry holds the coupons of one gate call, up to 64.")
    var batchSize: Int = OutboxRelay.Configuration().batchSize

    @Option(help: "Seconds an entry may stay pending with a stopped relay before this one takes it over (default 15).")
    var claimAfter: Double = 15

    @OptionGroup var worker: WorkerOptions

    func validate() throws {
        guard (1...10_000).contains(self.batchSize) else { throw ValidationError("--batch-size must be from 1 to 10000") }
        guard self.claimAfter > 0, self.claimAfter <= 86_400 else { throw ValidationError("--claim-after must be from 0 to 86400 seconds") }
    }

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        let distributed = try self.distributed.required(by: "relay", environment: environment)
        var relay = OutboxRelay.Configuration()
        relay.batchSize = self.batchSize
        relay.claimAfter = .milliseconds(Int64(self.claimAfter * 1000))
        try await runRelay(
            distributed,
            relay: relay,
            metricsAddress: self.worker.metricsAddress,
            logger: try commandLogger(self.worker.logLevel, environment: environment)
        )
    }
}

/// A logger at the level from `--log-level` or COUPONGATE_LOG_LEVEL.
func commandLogger(_ flag: String?, environment: [String: String]) throws -> Logger {
    var logger = Logger(label: "coupongate")
    let text = flag ?? environment["COUPONGATE_LOG_LEVEL"] ?? "info"
    guard let level = Logger.Level(rawValue: text.lowercased()) else {
        throw ValidationError("invalid log level '\(text)': expected one of trace, debug, info, notice, warning, error, critical")
    }
    logger.logLevel = level
    return logger
}
