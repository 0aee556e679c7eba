import CoreMetrics

extension CoreMetrics.Timer {
    /// Records the time since `start` on the continuous clock (the one way the project
    /// times things for metrics).
    public func recordInterval(since start: ContinuousClock.Instant) {
        let (seconds, attoseconds) = (ContinuousClock.now - start).components
        recordNanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}
