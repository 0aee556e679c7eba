import CouponMySQL
import CouponRedis
import CouponServer
import CouponStore
import Logging
import RESP
import Testing

@Suite struct ServerConfigurationTests {
    typealias Flags = ServerConfiguration.Flags

    @Test func defaultsWithNothingSet() throws {
        let configuration = try ServerConfiguration(flags: Flags(), environment: [:])
        #expect(configuration.host == "127.0.0.1")
        #expect(configuration.port == 8080)
        #expect(configuration.dataDirectory == "data")
        #expect(configuration.defaultLimit == 100)
        #expect(configuration.adminTokenGenerated)
        #expect(configuration.metricsEnabled)
        #expect(configuration.adminToken.value.count == 64)
        #expect(try ServerConfiguration(flags: Flags(), environment: [:]).adminToken != configuration.adminToken)
    }

    @Test func environmentFillsWhatFlagsLeaveOpen() throws {
        let environment = [
            "COUPONGATE_HOST": "0.0.0.0", "COUPONGATE_PORT": "9000", "COUPONGATE_DATA_DIR": "/tmp/x",
            "COUPONGATE_DEFAULT_LIMIT": "500", "COUPONGATE_ADMIN_TOKEN": "from-the-environment-1234", "COUPONGATE_LOG_LEVEL": "DEBUG",
        ]
        let fromEnvironment = try ServerConfiguration(flags: Flags(), environment: environment)
        #expect(fromEnvironment.host == "0.0.0.0")
        #expect(fromEnvironment.port == 9000)
        #expect(fromEnvironment.dataDirectory == "/tmp/x")
        #expect(fromEnvironment.defaultLimit == 500)
        #expect(fromEnvironment.adminToken.value == "from-the-environment-1234")
        #expect(!fromEnvironment.adminTokenGenerated)
        #expect(fromEnvironment.logLevel == .debug)

        #expect(try !ServerConfiguration(flags: Flags(), environment: ["COUPONGATE_METRICS": "OFF"]).metricsEnabled)
        #expect(try ServerConfiguration(flags: Flags(metrics: "on"), environment: ["COUPONGATE_METRICS": "off"]).metricsEnabled)
        #expect(try ServerConfiguration(flags: Flags(), environment: [:]).soldOutFastPath, "on by default")
        #expect(try !ServerConfiguration(flags: Flags(), environment: ["COUPONGATE_SOLD_OUT_FAST_PATH": "Off"]).soldOutFastPath)
        #expect(throws: SettingError.self) { try ServerConfiguration(flags: Flags(soldOutFastPath: "maybe"), environment: [:]) }
        #expect(try ServerConfiguration(flags: Flags(), environment: [:]).maxInFlight == 4096)
        #expect(try ServerConfiguration(flags: Flags(), environment: ["COUPONGATE_MAX_IN_FLIGHT": "64"]).maxInFlight == 64)
        let timeouts = try ServerConfiguration(flags: Flags(idleTimeout: "30"), environment: ["COUPONGATE_HEADER_TIMEOUT": "5"])
        #expect(timeouts.idleTimeoutSeconds == 30 && timeouts.headerTimeoutSeconds == 5)
        #expect(try ServerConfiguration(flags: Flags(), environment: [:]).headerTimeoutSeconds == 10)
        let limits = try ServerConfiguration(flags: Flags(rateLimitUser: "5/s"), environment: ["COUPONGATE_RATE_LIMIT_CLIENT": "100"])
        #expect(limits.userRateLimit == 5 && limits.clientRateLimit == 100)
        #expect(try ServerConfiguration(flags: Flags(), environment: [:]).userRateLimit == nil, "off by default")

        let flagsWin = try ServerConfiguration(flags: Flags(port: "7000", defaultLimit: "3"), environment: environment)
        #expect(flagsWin.port == 7000)
        #expect(flagsWin.defaultLimit == 3)
        #expect(flagsWin.host == "0.0.0.0")
    }

    @Test(arguments: [
        (Flags(port: "http"), "--port"),
        (Flags(port: "65536"), "--port"),
        (Flags(port: "-1"), "--port"),
        (Flags(defaultLimit: "0"), "--default-limit"),
        (Flags(defaultLimit: "100000001"), "--default-limit"),
        (Flags(defaultLimit: "ten"), "--default-limit"),
        (Flags(adminToken: "short"), "--admin-token"),
        (Flags(adminToken: "has spaces in the token"), "--admin-token"),
        (Flags(logLevel: "loud"), "--log-level"),
        (Flags(host: ""), "--host"),
        (Flags(dataDir: ""), "--data-dir"),
        (Flags(metrics: "maybe"), "--metrics"),
        (Flags(maxInFlight: "0"), "--max-in-flight"),
        (Flags(maxInFlight: "lots"), "--max-in-flight"),
        (Flags(idleTimeout: "0"), "--idle-timeout"),
        (Flags(headerTimeout: "soon"), "--header-timeout"),
        (Flags(rateLimitUser: "0"), "--rate-limit-user"),
        (Flags(rateLimitClient: "fast"), "--rate-limit-client"),
    ])
    func badFlagsAreOneLineErrorsNamingTheFlag(flags: Flags, name: String) throws {
        let error = try #require(throws: ServerConfiguration.SettingError.self) {
            try ServerConfiguration(flags: flags, environment: [:])
        }
        #expect(error.description.contains(name))
        #expect(!error.description.contains("\n"))
    }

    @Test func badEnvironmentValuesNameTheVariable() throws {
        let error = try #require(throws: ServerConfiguration.SettingError.self) {
            try ServerConfiguration(flags: Flags(), environment: ["COUPONGATE_PORT": "eighty"])
        }
        #expect(error.description.contains("COUPONGATE_PORT"))
        #expect(error.description.contains("eighty"))
    }
}

@Suite struct DistributedConfigurationTests {
    typealias Flags = ServerConfiguration.Flags

    /// `loadtest` starts its embedded default with `withoutSettings` of its own environment:
    /// whatever the shell exports, the child is the embedded default with default limits.
    @Test func aChildWithoutSettingsIsTheEmbeddedDefaultWhateverTheShellExports() throws {
        let shell = [
            "COUPONGATE_MYSQL_URL": "mysql://u:p@127.0.0.1:3306/db", "COUPONGATE_AUTH": "jwt",
            "COUPONGATE_RATE_LIMIT_USER": "5/s", "COUPONGATE_MAX_IN_FLIGHT": "8", "PATH": "/usr/bin", "HOME": "/root",
        ]
        #expect(throws: SettingError.self, "the shell's settings alone do not even start") {
            try ServerConfiguration(flags: Flags(), environment: shell)
        }
        let child = ServerConfiguration.withoutSettings(shell)
        #expect(child == ["PATH": "/usr/bin", "HOME": "/root"], "everything but the settings is kept")
        let configuration = try ServerConfiguration(flags: Flags(), environment: child)
        #expect(configuration.distributed == nil)
        #expect(configuration.authentication == .queryParameter)
        #expect(configuration.userRateLimit == nil)
        #expect(configuration.maxInFlight == 4096)
    }

    @Test func neitherURLIsTheEmbeddedDefault() throws {
        #expect(try ServerConfiguration(flags: Flags(), environment: [:]).distributed == nil)
    }

    @Test func bothURLsSelectDistributedMode() throws {
        let configuration = try ServerConfiguration(
            flags: Flags(redis: "redis://127.0.0.1:6380/2", withRelay: true),
            environment: ["COUPONGATE_POSTGRES_URL": "postgres://cg:secret@127.0.0.1:5433/coupons"]
        )
        let distributed = try #require(configuration.distributed)
        guard case .server(let redis) = distributed.redis else {
            Issue.record("--redis is one server")
            return
        }
        #expect(redis.endpoint == .tcp(host: "127.0.0.1", port: 6380))
        #expect(redis.database == 2)
        #expect(distributed.database == .postgres(try PostgresURL("postgres://cg:secret@127.0.0.1:5433/coupons")))
        #expect(distributed.withRelay)
    }

    @Test func redisClusterSeedsSelectTheClusterClient() throws {
        let configuration = try ServerConfiguration(
            flags: Flags(redisCluster: "redis://127.0.0.1:7000, redis://127.0.0.1:7001", postgres: "postgres://u@127.0.0.1/db"),
            environment: [:]
        )
        guard case .cluster(let cluster) = try #require(configuration.distributed).redis else {
            Issue.record("--redis-cluster is a cluster")
            return
        }
        #expect(cluster.seeds == [.tcp(host: "127.0.0.1", port: 7000), .tcp(host: "127.0.0.1", port: 7001)])
    }

    @Test func aMySQLURLSelectsMySQLAsTheDatabaseOfRecord() throws {
        let configuration = try ServerConfiguration(
            flags: Flags(redis: "redis://127.0.0.1"),
            environment: ["COUPONGATE_MYSQL_URL": "mysql://cg:secret@127.0.0.1:3307/coupons"]
        )
        let distributed = try #require(configuration.distributed)
        #expect(distributed.database == .mysql(try MySQLURL("mysql://cg:secret@127.0.0.1:3307/coupons")))
        #expect(distributed.database.description == "mysql://cg:***@127.0.0.1:3307/coupons")
    }

    @Test(arguments: [
        (Flags(redis: "redis://127.0.0.1"), [String: String](), "--postgres URL or --mysql URL"),
        (Flags(redis: "redis://127.0.0.1", postgres: "postgres://u@127.0.0.1/db", mysql: "mysql://u@127.0.0.1/db"), [:], "--mysql"),
        (
            Flags(redis: "redis://127.0.0.1", postgres: "postgres://u@127.0.0.1/db"), ["COUPONGATE_MYSQL_URL": "mysql://u@h/db"],
            "COUPONGATE_MYSQL_URL"
        ),
        (Flags(mysql: "mysql://u@127.0.0.1/db"), [:], "--redis"),
        (Flags(redis: "redis://127.0.0.1", redisCluster: "redis://127.0.0.1:7000", postgres: "postgres://u@h/db"), [:], "--redis-cluster"),
        (Flags(redisCluster: "redis://127.0.0.1:7000/3", postgres: "postgres://u@h/db"), [:], "--redis-cluster"),
        (Flags(redis: "redis://127.0.0.1", mysql: "postgres://u@h/db"), [:], "--mysql"),
        (Flags(postgres: "postgres://u@127.0.0.1/db"), [:], "--redis"),
        (Flags(withRelay: true), [:], "--with-relay"),
        (Flags(redis: "http://127.0.0.1", postgres: "postgres://u@127.0.0.1/db"), [:], "--redis"),
        (Flags(redis: "redis://127.0.0.1", postgres: "mysql://u@h/db"), [:], "--postgres"),
        (
            Flags(),
            ["COUPONGATE_REDIS_URL": "redis://127.0.0.1", "COUPONGATE_POSTGRES_URL": "postgres://u@127.0.0.1/db", "COUPONGATE_WITH_RELAY": "maybe"],
            "COUPONGATE_WITH_RELAY"
        ),
    ])
    func badCombinationsAreOneLineErrorsNamingTheSetting(flags: Flags, environment: [String: String], name: String) throws {
        let error = try #require(throws: SettingError.self) { try ServerConfiguration(flags: flags, environment: environment) }
        #expect(error.description.contains(name), "\(error)")
        #expect(!error.description.contains("\n"))
    }

    @Test func aPasswordInABadURLIsNotEchoed() throws {
        let error = try #require(throws: SettingError.self) {
            try ServerConfiguration(flags: Flags(redis: "redis://127.0.0.1", postgres: "postgres://u:hunter2@h:notaport/db"), environment: [:])
        }
        #expect(!error.description.contains("hunter2"), "\(error)")
        let mysql = try #require(throws: SettingError.self) {
            try ServerConfiguration(flags: Flags(redis: "redis://127.0.0.1", mysql: "mysql://u:hunter2@h:notaport/db"), environment: [:])
        }
        #expect(!mysql.description.contains("hunter2"), "\(mysql)")
    }
}
