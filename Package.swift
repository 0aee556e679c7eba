// swift-tools-version:6.2
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
    // "No warnings" is a rule here, so the compiler enforces it (our targets only, not dependencies).
    .treatAllWarnings(as: .error),
]

let package = Package(
    name: "coupongate",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "coupongate", targets: ["coupongate"])
    ],
    dependencies: [
        // Exact versions: only these exist in the local package mirror (see README, "Building").
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", exact: "2.28.1", traits: ["FullFoundation"]),
        .package(url: "https://github.com/vapor/sqlite-nio.git", exact: "1.13.2"),
        .package(url: "https://github.com/vapor/postgres-nio.git", exact: "1.33.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", exact: "2.37.6"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", exact: "1.8.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", exact: "2.13.0"),
        .package(url: "https://github.com/apple/swift-log.git", exact: "1.16.2"),
        .package(url: "https://github.com/apple/swift-nio.git", exact: "2.101.3"),
        .package(url: "https://github.com/apple/swift-http-types.git", exact: "1.8.0"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift.git", exact: "0.2.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", exact: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", exact: "2.4.1"),
        .package(url: "https://github.com/vapor/jwt-kit.git", exact: "5.8.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", exact: "4.5.2"),
    ],
    targets: [
        .target(
            name: "CouponCore",
            swiftSettings: swiftSettings
        ),
        .target(
            name: "CouponAuth",
            dependencies: [
                "CouponCore",
                .product(name: "JWTKit", package: "jwt-kit"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "RESP",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // Our own Kafka client on SwiftNIO (no Swift Kafka package is available, and Debian's librdkafka is too old).
        .target(
            name: "Kafka",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                // SCRAM's HMAC and SHA-2.
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "CouponRedis",
            dependencies: [
                "CouponCore",
                "RESP",
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            // The gate's Lua scripts, embedded so the binary needs no resource folder.
            resources: [
                .embedInCode("Lua/issue.lua"), .embedInCode("Lua/create.lua"), .embedInCode("Lua/reset.lua"),
                .embedInCode("Lua/rebuild.lua"),
            ],
            swiftSettings: swiftSettings
        ),
        // The Kafka side of distributed mode: the relay's Kafka sink and the coupon_create consumer.
        .target(
            name: "CouponKafka",
            dependencies: [
                "CouponCore",
                "CouponRedis",
                "Kafka",
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "CouponStore",
            dependencies: [
                "CouponCore",
                .product(name: "SQLiteNIO", package: "sqlite-nio"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        // MariaDB Connector/C (Debian: libmariadb-dev), which speaks to MySQL and MariaDB servers.
        .systemLibrary(
            name: "CMariaDB",
            pkgConfig: "libmariadb",
            providers: [.apt(["libmariadb-dev"])]
        ),
        .target(
            name: "CouponMySQL",
            dependencies: [
                "CMariaDB",
                "CouponCore",
                "CouponStore",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "CouponServer",
            dependencies: [
                "CouponCore",
                "CouponKafka",
                "Kafka",
                "CouponRedis",
                "CouponAuth",
                "CouponStore",
                "CouponMySQL",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            // Served at /openapi.yaml and read for the route list; embedded, so the binary needs no resource folder.
            resources: [.embedInCode("openapi.yaml")],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "LoadGen",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
            ],
            swiftSettings: swiftSettings
        ),
        // Throwaway servers on loopback (redis-server, PostgreSQL, MariaDB, tansu) for loadtest --stack and the tests.
        .target(
            name: "LocalServers",
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "coupongate",
            dependencies: [
                "CouponCore",
                "CouponRedis",
                "CouponServer",
                "LoadGen",
                "CouponKafka",
                "Kafka",
                "LocalServers",
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Hummingbird", package: "hummingbird"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "CouponCoreTests",
            dependencies: ["CouponCore"],
            swiftSettings: swiftSettings
        ),
        // Launchers for the real servers integration tests run against (never shipped).
        .target(
            name: "CouponTestSupport",
            dependencies: [
                "CouponCore",
                "LocalServers",
                "CouponStore",
                "CouponMySQL",
                "RESP",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            path: "Tests/Support",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "RESPTests",
            dependencies: [
                "LocalServers",
                "RESP",
                "CouponTestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOTestUtils", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // Socket-free: an in-memory channel plays the broker.
        .testTarget(
            name: "KafkaTests",
            dependencies: [
                "Kafka",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOTestUtils", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "CouponKafkaTests",
            dependencies: [
                "CouponCore",
                "CouponKafka",
                "CouponStore",
                "CouponTestSupport",
                "Kafka",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "MetricsTestKit", package: "swift-metrics"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "CouponStoreTests",
            dependencies: [
                "CouponCore",
                "CouponStore",
                "CouponMySQL",
                "CouponTestSupport",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "CouponRedisTests",
            dependencies: [
                "CouponCore",
                "CouponRedis",
                "CouponTestSupport",
                "RESP",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // The tests that need real servers: run (and a missing server fails) only with
        // COUPONGATE_INTEGRATION=1, which scripts/test.sh sets after starting them.
        .testTarget(
            name: "IntegrationTests",
            dependencies: [
                "LocalServers",
                "Kafka",
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "MetricsTestKit", package: "swift-metrics"),
                "CouponCore",
                "CouponRedis",
                "CouponStore",
                "CouponMySQL",
                "CouponTestSupport",
                "RESP",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ClusterIntegrationTests",
            dependencies: [
                "CouponCore",
                "CouponRedis",
                "CouponStore",
                "CouponTestSupport",
                "RESP",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "LoadGenTests",
            dependencies: [
                "LoadGen",
                "CouponServer",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOTestUtils", package: "swift-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "CouponServerTests",
            dependencies: [
                "CouponCore",
                "CouponMySQL",
                "CouponRedis",
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "CryptoExtras", package: "swift-crypto"),
                "CouponTestSupport",
                "CouponStore",
                "CouponServer",
                "CouponKafka",
                "Kafka",
                "RESP",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
    ]
)
