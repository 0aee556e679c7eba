/// Polls `condition` every 10 ms for up to `timeout`; throws (failing the test) if it never holds.
public func eventually(
    _ what: String,
    timeout: Duration = .seconds(5),
    _ condition: () async throws -> Bool
) async throws {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() {
            return
        }
        try await Task.sleep(for: .milliseconds(10))
    }
    throw RedisServerError("timed out after \(timeout) waiting until \(what)")
}
