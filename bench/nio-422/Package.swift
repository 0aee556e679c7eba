// swift-tools-version:6.2
// The bare SwiftNIO baseline of bench/bench-fastpath.sh: one handler answering a constant 422.
import PackageDescription

let package = Package(
    name: "nio-422",
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", exact: "2.101.3")
    ],
    targets: [
        .executableTarget(
            name: "nio-422",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: [.swiftLanguageMode(.v6)]
        )
    ]
)
