import Foundation
import RESP
import ServiceLifecycle

/// Runs a Redis client (its `run()` in a child task) while `body` runs, then cancels it and waits for it to stop.
/// - Parameter waitForConnection: wait (up to 5 s) until a connection is up before calling `body`.
public func withRunning<Client: RedisCommandSender & Service, T: Sendable>(
    _ client: Client,
    waitForConnection: Bool = true,
    _ body: @Sendable (Client) async throws -> T
) async throws -> T {
    try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask {
            try await client.run()
        }
        defer { group.cancelAll() }
        if waitForConnection {
            try await eventually("the client connects") { client.isConnected }
        }
        return try await body(client)
    }
}

/// Runs `tasks` concurrent tasks that each SET `keysPerTask` keys named by `key` to fresh values and GET
/// them back through `client`; returns how many replies did not match (0 when every reply reached its caller).
public func setsAndGets(
    on client: any RedisCommandSender,
    tasks: Int,
    keysPerTask: Int,
    key: @escaping @Sendable (Int, Int) -> String
) async throws -> Int {
    try await withThrowingTaskGroup(of: Int.self) { group in
        for task in 0..<tasks {
            group.addTask {
                var mismatches = 0
                for index in 0..<keysPerTask {
                    let key = key(task, index)
                    let value = "value-\(task)-\(index)-\(UUID().uuidString)"
                    let set = try await client.send(RedisCommand("SET", [.string(key), .string(value)]))
                    let get = try await client.send(RedisCommand("GET", [.string(key)]))
                    if set != .simpleString("OK") || get.string != value {
                        mismatches += 1
                    }
                }
                return mismatches
            }
        }
        return try await group.reduce(0, +)
    }
}
