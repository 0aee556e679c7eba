import CouponTestSupport
import Foundation
import Logging
import NIOCore
import ServiceLifecycle
import Testing

@testable import RESP

/// The error `body` throws, which must be a `RedisClientError`, and how long it took.
private func timedError(_ body: () async throws -> some Any) async -> (error: RedisClientError?, elapsed: Duration) {
    let start = ContinuousClock.now
    let error = await clientError(body)
    return (error, ContinuousClock.now - start)
}

private let logger = Logger(label: "RESPTests")

/// A fresh key prefix, so nothing one test writes is seen by another.
private func keyPrefix() -> String {
    "test:\(UUID().uuidString.prefix(8)):"
}

extension IntegrationTests {
    /// The RESP client against a real `redis-server` that each test starts itself (see `RedisServerProcess`).
    @Suite struct RedisClientIntegrationTests {
        @Test func tenThousandPipelinedCommandsFromHundredTasksAreMatchedToTheirCallers() async throws {
            let server = try await RedisServerProcess.start()
            defer { server.stop() }
            let client = RedisClient(configuration: server.configuration(), logger: logger)
            let prefix = keyPrefix()
            try await withRunning(client) { client async throws in
                // 100 tasks × 50 × (SET + GET) = 10,000 commands over 2 connections; every GET must see its own SET.
                let mismatches = try await setsAndGets(on: client, tasks: 100, keysPerTask: 50) { task, index in "\(prefix)\(task):\(index)" }
                #expect(mismatches == 0)
                let count = try await client.send(RedisCommand("DBSIZE"))
                #expect(count.int == 5000)
            }
        }

        @Test func concurrentIncrementsEachGetADistinctValue() async throws {
            let server = try await RedisServerProcess.start()
            defer { server.stop() }
            let client = RedisClient(configuration: server.configuration(), logger: logger)
            let key = keyPrefix() + "counter"
            try await withRunning(client) { client async throws in
                let values = try await withThrowingTaskGroup(of: [Int64].self) { group in
                    for _ in 0..<20 {
                        group.addTask {
                            var values: [Int64] = []
                            for _ in 0..<100 {
                                values.append(try await client.send(RedisCommand("INCR", [.string(key)])).int ?? -1)
                            }
                            return values
                        }
                    }
                    return try await group.reduce(into: []) { $0 += $1 }
                }
                // Each caller got the reply to its own INCR: 1…2000, each exactly once.
                #expect(values.sorted() == Array(1...2000))
            }
        }

        @Test func pipelineReturnsRepliesInOrderWithErrorsAsValues() async throws {
            let server = try await RedisServerProcess.start()
            defer { server.stop() }
            let client = RedisClient(configuration: server.configuration(), logger: logger)
            let prefix = keyPrefix()
            try await withRunning(client) { client async throws in
                var commands = (0..<1000).map { _ in RedisCommand("INCR", [.string(prefix + "n")]) }
                commands.insert(RedisCommand("SET", [.string(prefix + "s"), "text"]), at: 500)
                commands.insert(RedisCommand("INCR", [.string(prefix + "s")]), at: 501)
                let replies = try await client.pipeline(commands)
                #expect(replies.count == 1002)
                #expect(replies[500] == .simpleString("OK"))
                #expect(replies[501] == .error("ERR value is not an integer or out of range"))
                let counts = replies.enumerated().filter { $0.offset != 500 && $0.offset != 501 }.map { $0.element.int }
                #expect(counts == (1...1000).map { Int64($0) })
                #expect(try await client.pipeline([]) == [])
            }
        }

        @Test func deadlineExpiryThrowsTimeoutAndTheClientRecovers() async throws {
            let server = try await RedisServerProcess.start()
            defer { server.stop() }
            var configuration = server.configuration()
            configuration.commandTimeout = .milliseconds(200)
            let client = RedisClient(configuration: configuration, logger: logger)
            try await withRunning(client) { client async throws in
                let (error, elapsed) = await timedError { try await client.send(RedisCommand("DEBUG", ["SLEEP", "2"])) }
                #expect(error?.code == .timeout)
                #expect(elapsed >= .milliseconds(190))
                #expect(elapsed < .milliseconds(700), "the timeout came \(elapsed) after the call, for a 200 ms deadline")
                // The stalled connection was closed and replaced; once Redis is responsive again, commands succeed.
                try await eventually("a command succeeds again", timeout: .seconds(10)) {
                    (try? await client.send(RedisCommand("PING"))) == .simpleString("PONG")
                }
                #expect(try await client.send(RedisCommand("ECHO", ["back"])).string == "back")
            }
        }

        @Test func redisKilledMidFlightFailsFastThenReconnectsAfterRestart() async throws {
            let server = try await RedisServerProcess.start()
            defer { server.stop() }
            var configuration = server.configuration()
            configuration.reconnectDelay = (initial: .milliseconds(20), maximum: .milliseconds(200))
            let client = RedisClient(configuration: configuration, logger: logger)
            let key = keyPrefix() + "k"
            try await withRunning(client) { client async throws in
                #expect(try await client.send(RedisCommand("SET", [.string(key), "before"])) == .simpleString("OK"))
                // Stall the server so that commands are surely in flight when it dies.
                let results = try await withThrowingTaskGroup(of: (RedisClientError?, Duration).self) { group in
                    group.addTask { await timedError { try await client.send(RedisCommand("DEBUG", ["SLEEP", "5"])) } }
                    try await Task.sleep(for: .milliseconds(50))
                    for _ in 0..<50 {
                        group.addTask { await timedError { try await client.send(RedisCommand("GET", [.string(key)])) } }
                    }
                    try await Task.sleep(for: .milliseconds(100))
                    await server.kill()
                    return try await group.reduce(into: []) { $0.append($1) }
                }
                #expect(results.count == 51)
                for (error, elapsed) in results {
                    #expect([.connectionClosed, .unavailable, .timeout].contains(error?.code), "\(String(describing: error))")
                    #expect(elapsed < .seconds(1) + .milliseconds(500))
                }

                // While Redis is down: no connection, and calls fail at once instead of waiting for the deadline.
                try await eventually("the client notices Redis is gone") { !client.isConnected }
                for _ in 0..<20 {
                    let (error, elapsed) = await timedError { try await client.send(RedisCommand("GET", [.string(key)])) }
                    #expect(error?.code == .unavailable)
                    #expect(elapsed < .milliseconds(100), "a call while Redis is down took \(elapsed)")
                    try await Task.sleep(for: .milliseconds(10))
                }
                let (downError, _) = await timedError { try await client.send(RedisCommand("PING")) }
                #expect(downError?.message.contains("127.0.0.1:\(server.port)") == true, "\(String(describing: downError))")

                // Redis comes back on the same port: the client reconnects by itself.
                try await server.restart()
                try await eventually("the client reconnects") { client.isConnected }
                #expect(try await client.send(RedisCommand("SET", [.string(key), "after"])) == .simpleString("OK"))
                #expect(try await client.send(RedisCommand("GET", [.string(key)])).string == "after")
            }
        }

        @Test func authenticatesWithPasswordAndReportsAWrongOneClearly() async throws {
            let server = try await RedisServerProcess.start(password: "s3cret-pass")
            defer { server.stop() }

            // RESP3: HELLO 3 AUTH default s3cret-pass.
            try await withRunning(RedisClient(configuration: server.configuration(), logger: logger)) { client async throws in
                #expect(try await client.send(RedisCommand("PING")) == .simpleString("PONG"))
            }
            // RESP2: AUTH s3cret-pass.
            var resp2 = server.configuration()
            resp2.useRESP3 = false
            try await withRunning(RedisClient(configuration: resp2, logger: logger)) { client async throws in
                #expect(try await client.send(RedisCommand("PING")) == .simpleString("PONG"))
            }

            for (password, serverText) in [("wrong", "WRONGPASS"), (nil, "NOAUTH")] as [(String?, String)] {
                var configuration = server.configuration()
                configuration.password = password
                try await withRunning(RedisClient(configuration: configuration, logger: logger), waitForConnection: false) { client async throws in
                    try await eventually("the handshake failure is reported") {
                        let (error, _) = await timedError { try await client.send(RedisCommand("PING")) }
                        return error?.message.contains(serverText) == true
                    }
                    let (error, elapsed) = await timedError { try await client.send(RedisCommand("PING")) }
                    #expect(error?.code == .unavailable)
                    #expect(error?.message.contains("\(serverText)") == true, "\(String(describing: error))")
                    #expect(elapsed < .milliseconds(100))
                    #expect(!client.isConnected)
                }
            }
        }

        @Test func selectsTheConfiguredDatabase() async throws {
            let server = try await RedisServerProcess.start()
            defer { server.stop() }
            let key = keyPrefix() + "db"
            let url = "redis://127.0.0.1:\(server.port)/3"
            try await withRunning(RedisClient(configuration: try RedisConfiguration(url: url), logger: logger)) { client async throws in
                #expect(try await client.send(RedisCommand("SET", [.string(key), "in-3"])) == .simpleString("OK"))
                let info = try await client.send(RedisCommand("CLIENT", ["INFO"]))
                #expect(info.string?.contains(" db=3 ") == true, "\(info)")
            }
            try await withRunning(RedisClient(configuration: server.configuration(), logger: logger)) { client async throws in
                #expect(try await client.send(RedisCommand("GET", [.string(key)])).isNull)
                #expect(try await client.send(RedisCommand("SELECT", ["3"])) == .simpleString("OK"))
            }
        }

        @Test func connectsOverAUnixSocket() async throws {
            let server = try await RedisServerProcess.start()
            defer { server.stop() }
            let configuration = try RedisConfiguration(url: "unix://\(server.unixSocketPath)?db=1")
            #expect(configuration.endpoint == .unix(path: server.unixSocketPath))
            try await withRunning(RedisClient(configuration: configuration, logger: logger)) { client async throws in
                #expect(try await client.send(RedisCommand("PING")) == .simpleString("PONG"))
                let info = try await client.send(RedisCommand("CLIENT", ["INFO"]))
                #expect(info.string?.contains(" db=1 ") == true, "\(info)")
                #expect(info.string?.contains("laddr=\(server.unixSocketPath)") == true, "\(info)")
            }
        }

        @Test func evalshaOfAnUnknownScriptIsNoscript() async throws {
            let server = try await RedisServerProcess.start()
            defer { server.stop() }
            try await withRunning(RedisClient(configuration: server.configuration(), logger: logger)) { client async throws in
                let (error, _) = await timedError {
                    try await client.send(RedisCommand("EVALSHA", ["0123456789abcdef0123456789abcdef01234567", 0]))
                }
                #expect(error?.code == .serverError)
                #expect(error?.message.hasPrefix("NOSCRIPT") == true, "\(String(describing: error))")
                // After SCRIPT LOAD the same call works, and the connection is still in step.
                let sha = try await client.send(RedisCommand("SCRIPT", ["LOAD", "return {KEYS[1], tonumber(ARGV[1]) + 1}"]))
                let reply = try await client.send(RedisCommand("EVALSHA", [.string(sha.string ?? ""), 1, "k", 41]))
                #expect(reply == .array([.bulkString(ByteBuffer(string: "k")), .integer(42)]))
            }
        }

        @Test func resp3AndResp2RepliesAgainstTheRealServer() async throws {
            let server = try await RedisServerProcess.start()
            defer { server.stop() }
            let key = keyPrefix() + "hash"
            try await withRunning(RedisClient(configuration: server.configuration(), logger: logger)) { client async throws in
                _ = try await client.send(RedisCommand("HSET", [.string(key), "field", "value"]))
                let map = try await client.send(RedisCommand("HGETALL", [.string(key)]))
                #expect(map == .map([.bulkString(ByteBuffer(string: "field")): .bulkString(ByteBuffer(string: "value"))]))
                #expect(try await client.send(RedisCommand("GET", [.string(key + ":missing")])) == .null)
                let double = try await client.send(RedisCommand("ZINCRBY", [.string(key + ":z"), "1.5", "m"]))
                #expect(double == .double(1.5))
            }
            var resp2 = server.configuration()
            resp2.useRESP3 = false
            try await withRunning(RedisClient(configuration: resp2, logger: logger)) { client async throws in
                let array = try await client.send(RedisCommand("HGETALL", [.string(key)]))
                #expect(array == .array([.bulkString(ByteBuffer(string: "field")), .bulkString(ByteBuffer(string: "value"))]))
                #expect(try await client.send(RedisCommand("GET", [.string(key + ":missing")])) == .null)
            }
        }

        @Test func trackingInvalidationPushesAreIgnored() async throws {
            let server = try await RedisServerProcess.start()
            defer { server.stop() }
            var configuration = server.configuration()
            configuration.connectionCount = 1
            let key = keyPrefix() + "tracked"
            try await withRunning(RedisClient(configuration: configuration, logger: logger)) { client async throws in
                // With tracking on, every SET of a key this connection read sends it an invalidation push.
                #expect(try await client.send(RedisCommand("CLIENT", ["TRACKING", "ON"])) == .simpleString("OK"))
                for index in 0..<200 {
                    #expect(try await client.send(RedisCommand("SET", [.string(key), .int(Int64(index))])) == .simpleString("OK"))
                    #expect(try await client.send(RedisCommand("GET", [.string(key)])).int == Int64(index))
                }
            }
        }

        @Test func gracefulShutdownFailsInFlightCommandsAndStopsTheClient() async throws {
            let server = try await RedisServerProcess.start()
            defer { server.stop() }
            let client = RedisClient(configuration: server.configuration(), logger: logger)
            let group = ServiceGroup(configuration: .init(services: [client], logger: logger))
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                tasks.addTask { try await group.run() }
                try await eventually("the client connects") { client.isConnected }
                tasks.addTask {
                    let (error, elapsed) = await timedError { try await client.send(RedisCommand("DEBUG", ["SLEEP", "0.8"])) }
                    #expect(error?.code == .connectionClosed)
                    #expect(elapsed < .milliseconds(700))
                }
                try await Task.sleep(for: .milliseconds(100))
                await group.triggerGracefulShutdown()
                try await tasks.waitForAll()
            }
            #expect(!client.isConnected)
            let (error, _) = await timedError { try await client.send(RedisCommand("PING")) }
            #expect(error?.code == .unavailable)
            #expect(error?.message.contains("shut down") == true)
        }
    }
}
