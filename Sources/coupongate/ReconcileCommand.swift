import ArgumentParser
import CouponCore
import CouponRedis
import CouponServer
import Foundation

struct ReconcileCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reconcile",
        abstract: "Compare a campaign's Redis winners, outbox and PostgreSQL rows; with --repair, write missing rows.",
        discussion: """
            Exits 0 when the database agrees with Redis (entries still in the outbox are in flight, not errors), 1 otherwise. \
            With relay --kafka, a winner in neither the database nor the outbox may still be on the topic, not yet consumed: \
            run it again once the consumers caught up. --repair is safe either way: inserts are idempotent, so a row \
            written by --repair and again by a consumer is one row.
            """
    )

    @OptionGroup var distributed: DistributedOptions

    @Option(help: "The campaign to check.")
    var campaign: String

    @Flag(help: "Insert the rows of winners that are in neither the database nor the outbox.")
    var repair = false

    @Option(help: "trace, debug, info, notice, warning, error or critical (default warning).")
    var logLevel: String = "warning"

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        let campaign: CampaignID
        do {
            campaign = try CampaignID(validating: self.campaign)
        } catch {
            throw ValidationError(error.message)
        }
        let distributed = try self.distributed.required(by: "reconcile", environment: environment)
        let report = try await reconcile(
            campaign,
            repair: self.repair,
            distributed: distributed,
            logger: try commandLogger(self.logLevel, environment: environment)
        )
        print(report)
        if distributed.kafka != nil, !report.missing.isEmpty, !self.repair {
            print("  (with --kafka, missing winners may still be on the topic, not yet consumed)")
        }
        if !report.isConsistent { throw ExitCode(1) }
    }
}
