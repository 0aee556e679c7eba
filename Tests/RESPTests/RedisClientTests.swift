import CouponTestSupport
import LocalServers
import Logging
import Testing

@testable import RESP

/// The client's behaviour that needs no server.
@Suite struct RedisClientTests {
    @Test func runRefusesAnInvalidConfiguration() async {
        var configuration = RedisConfiguration(endpoint: .tcp(host: "localhost", port: 6379))
        configuration.connectionCount = 0
        let client = RedisClient(configuration: configuration, logger: .init(label: "RESPTests"))
        let error = await #expect(throws: RedisClientError.self) { try await client.run() }
        #expect(error?.code == .invalidConfiguration)
        #expect(error?.message.contains("connectionCount") == true)
    }

    @Test func sendBeforeRunFailsFastAsUnavailable() async {
        let client = RedisClient(configuration: RedisConfiguration(endpoint: .tcp(host: "localhost", port: 6379)), logger: .init(label: "RESPTests"))
        #expect(!client.isConnected)
        let error = await #expect(throws: RedisClientError.self) { try await client.send(RedisCommand("PING")) }
        #expect(error?.code == .unavailable)
        #expect(error?.message.contains("not running") == true)
    }

    @Test func runIsRefusedTwice() async throws {
        let client = RedisClient(
            configuration: RedisConfiguration(endpoint: .unix(path: "/nonexistent/redis.sock")),
            logger: .init(label: "RESPTests")
        )
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await client.run() }
            // Wait until the first run() is under way: calls stop saying "not running".
            for _ in 0..<500 {
                let error = await #expect(throws: RedisClientError.self) { try await client.send(RedisCommand("PING")) }
                guard error?.message.contains("not running") == true else { break }
                try await Task.sleep(for: .milliseconds(5))
            }
            let error = await #expect(throws: RedisClientError.self) { try await client.run() }
            #expect(error?.message.contains("already") == true)
            group.cancelAll()
        }
    }

    @Test func withRedisUnreachableCallsFailFastNamingTheCause() async throws {
        // Nothing listens on this port: every connect is refused.
        let port = try LoopbackPort.free()
        var configuration = RedisConfiguration(endpoint: .tcp(host: "127.0.0.1", port: port))
        configuration.reconnectDelay = (initial: .milliseconds(10), maximum: .milliseconds(20))
        let client = RedisClient(configuration: configuration, logger: .init(label: "RESPTests"))
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await client.run() }
            var message = ""
            for _ in 0..<200 where !message.contains("cannot connect") {
                let start = ContinuousClock.now
                let error = await #expect(throws: RedisClientError.self) { try await client.pipeline([RedisCommand("PING")]) }
                #expect(error?.code == .unavailable)
                #expect(ContinuousClock.now - start < .milliseconds(100))
                message = error?.message ?? ""
                try await Task.sleep(for: .milliseconds(10))
            }
            #expect(message.contains("no connection to Redis at 127.0.0.1:\(port) is up: cannot connect"), "\(message)")
            #expect(!client.isConnected)
            group.cancelAll()
        }
    }
}
