import RESP
import Testing

/// Runs `body`, expects it to throw a `RedisClientError`, and returns it (nil, with the test
/// failed, when it returned or threw something else).
public func clientError(_ body: () async throws -> some Any) async -> RedisClientError? {
    do {
        _ = try await body()
        Issue.record("expected a RedisClientError, got a value")
    } catch let error as RedisClientError {
        return error
    } catch {
        Issue.record("expected a RedisClientError, got \(error)")
    }
    return nil
}
