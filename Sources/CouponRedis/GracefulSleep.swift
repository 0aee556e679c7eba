import ServiceLifecycle

/// Sleeps for `duration`, returning early on graceful shutdown or cancellation.
func sleepUnlessShuttingDown(_ duration: Duration) async {
    try? await cancelWhenGracefulShutdown { try await Task.sleep(for: duration) }
}
