import Testing

@testable import RESP

@Suite struct RedisConfigurationTests {
    @Test func defaults() {
        let configuration = RedisConfiguration(endpoint: .tcp(host: "localhost", port: 6379))
        #expect(configuration.connectionCount == 2)
        #expect(configuration.commandTimeout == .seconds(1))
        #expect(configuration.connectTimeout == .seconds(1))
        #expect(configuration.reconnectDelay.initial == .milliseconds(50))
        #expect(configuration.reconnectDelay.maximum == .seconds(2))
        #expect(configuration.useRESP3)
        #expect(configuration.database == 0)
        #expect(configuration.username == nil && configuration.password == nil)
        #expect(configuration.handshake == [RedisCommand("HELLO", ["3"])])
    }

    @Test func redisURLs() throws {
        let plain = try RedisConfiguration(url: "redis://cache.internal")
        #expect(plain.endpoint == .tcp(host: "cache.internal", port: 6379))
        #expect(plain.database == 0)

        let full = try RedisConfiguration(url: "redis://app:p%40ss%3Aword@10.0.0.5:6380/4")
        #expect(full.endpoint == .tcp(host: "10.0.0.5", port: 6380))
        #expect(full.username == "app")
        #expect(full.password == "p@ss:word")
        #expect(full.database == 4)
        #expect(full.handshake == [.hello(username: "app", password: "p@ss:word"), .select(database: 4)])

        let passwordOnly = try RedisConfiguration(url: "redis://:secret@localhost:6379/")
        #expect(passwordOnly.username == nil)
        #expect(passwordOnly.password == "secret")
        #expect(passwordOnly.handshake == [RedisCommand("HELLO", ["3", "AUTH", "default", "secret"])])

        let ipv6 = try RedisConfiguration(url: "redis://[::1]:7000")
        #expect(ipv6.endpoint == .tcp(host: "::1", port: 7000))
        #expect(ipv6.endpoint.description == "[::1]:7000")
    }

    @Test func unixURLs() throws {
        let socket = try RedisConfiguration(url: "unix:///run/redis/redis.sock?db=2")
        #expect(socket.endpoint == .unix(path: "/run/redis/redis.sock"))
        #expect(socket.database == 2)
        let withPassword = try RedisConfiguration(url: "unix://:pw@/tmp/r.sock")
        #expect(withPassword.endpoint == .unix(path: "/tmp/r.sock"))
        #expect(withPassword.password == "pw")
    }

    @Test func resp2HandshakeUsesAuth() {
        var configuration = RedisConfiguration(endpoint: .unix(path: "/tmp/r.sock"))
        configuration.useRESP3 = false
        #expect(configuration.handshake == [])
        configuration.password = "pw"
        configuration.database = 1
        #expect(configuration.handshake == [RedisCommand("AUTH", ["pw"]), RedisCommand("SELECT", [1])])
        configuration.username = "app"
        #expect(configuration.handshake.first == RedisCommand("AUTH", ["app", "pw"]))
    }

    @Test(arguments: [
        ("localhost:6379", "no scheme"),
        ("http://localhost", "unsupported scheme \"http\""),
        ("rediss://localhost", "TLS is not supported"),
        ("redis://localhost:0", "port \"0\""),
        ("redis://localhost:abc", "port \"abc\""),
        ("redis://localhost:6379/x", "database \"x\""),
        ("redis://localhost:6379/-1", "database \"-1\""),
        ("redis://", "host is missing"),
        ("redis://:6379", "host is missing"),
        ("redis://[::1:6379", "closing \"]\""),
        ("redis://u:p%zz@host", "percent escape"),
        ("redis://host?db=1", "take no query"),
        ("unix://relative.sock", "absolute path"),
        ("unix:///tmp/r.sock?db=two", "database \"two\""),
        ("unix:///tmp/r.sock?timeout=1", "unknown query parameter \"timeout\""),
    ])
    func invalidURLsNameTheProblem(url: String, problem: String) {
        let error = #expect(throws: RedisClientError.self) { try RedisConfiguration(url: url) }
        #expect(error?.code == .invalidConfiguration)
        #expect(error?.message.contains(problem) == true, "\(error?.message ?? "") should mention \(problem)")
    }

    @Test func invalidURLErrorsHideThePassword() {
        let error = #expect(throws: RedisClientError.self) { try RedisConfiguration(url: "redis://app:hunter2@host:99999") }
        #expect(error?.message.contains("hunter2") == false)
        #expect(error?.message.contains("app:***@host") == true, "\(error?.message ?? "")")
    }

    @Test func validationRefusesUnusableSettings() {
        var configuration = RedisConfiguration(endpoint: .tcp(host: "localhost", port: 6379))
        #expect(throws: Never.self) { try configuration.validate() }
        configuration.connectionCount = 0
        #expect(throws: RedisClientError.self) { try configuration.validate() }
        configuration.connectionCount = 1
        configuration.commandTimeout = .zero
        #expect(throws: RedisClientError.self) { try configuration.validate() }
        configuration.commandTimeout = .seconds(1)
        configuration.endpoint = .tcp(host: "localhost", port: 70000)
        #expect(throws: RedisClientError.self) { try configuration.validate() }
    }
}
