import Kafka
import Logging
import ServiceLifecycle

/// Runs `attempt` until it succeeds, waiting 200 ms doubling to 5 s between tries, for a process
/// starting before its brokers: each new kind of failure is logged once (with `metadata`).
/// A security failure (credentials refused, TLS handshake failed) is thrown at once, since the same
/// settings fail again; so is the last failure on cancellation or graceful shutdown.
func retryingUntilKafkaIsReady<Value>(
    logger: Logger,
    metadata: Logger.Metadata,
    _ attempt: () async throws -> Value
) async throws -> Value {
    var delay: Duration = .milliseconds(200)
    var lastProblem: String?
    while true {
        do {
            return try await attempt()
        } catch let error as KafkaError where error.isSecurityFailure {
            logger.error("Kafka refuses these security settings", metadata: metadata.merging(["error": "\(error)"]) { $1 })
            throw error
        } catch {
            try Task.checkCancellation()
            if Task.isShuttingDownGracefully { throw error }
            let problem = "\(error)"
            if problem != lastProblem {
                logger.warning("Kafka is not ready; retrying", metadata: metadata.merging(["error": "\(problem)"]) { $1 })
                lastProblem = problem
            }
            try await Task.sleep(for: delay)
            delay = min(delay * 2, .seconds(5))
        }
    }
}
