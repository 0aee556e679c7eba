import CouponRedis
import Foundation
import Logging
import ServiceLifecycle

/// Ends a `coupongate relay` process whose database write has hung far past the store's own
/// deadline, so its supervisor (systemd, Kubernetes) restarts it: crash-only, not stuck.
///
/// Every store call has a deadline, yet the fault suite caught a relay whose write never
/// returned after PostgreSQL restarted (a pooled connection request that ignored its
/// cancellation). Nothing is lost by exiting: the batch is unacknowledged, so the restarted
/// relay (or another) reclaims it. Only the separate relay process runs this; inside `serve`
/// an exit would take the API down with it.
struct RelayWatchdog: Service {
    let relay: OutboxRelay
    let logger: Logger
    /// Three times the store's 10 s operation deadline.
    var limit: Duration = .seconds(30)

    func run() async {
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .seconds(1)) }
            if let stuck = self.relay.writeInProgressFor, stuck > self.limit {
                self.logger.critical(
                    "A database write has not returned for \(stuck), past every deadline; exiting so the supervisor restarts the relay (its batch stays pending and is reclaimed)"
                )
                exit(70)  // EX_SOFTWARE
            }
        }
    }
}
