// swift-tools-version:6.1
import PackageDescription

// The layout follows the data flow: model → log → (embedded | Kafka) → roles → commands.
// Each heavy dependency is imported by exactly one target (GRDB → EmbeddedLog,
// librdkafka → KafkaLog, Yams → TributaryCommands, WasmKit → FunctionHost, Hummingbird → Gateway).
let strictSwift: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
]

let package = Package(
    name: "tributary",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "tributary", targets: ["tributary"]),
        .executable(name: "tributary-bench", targets: ["TributaryBench"]),
        .executable(name: "tributary-kafka-mock", targets: ["TributaryKafkaMock"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-protobuf.git", from: "1.39.0"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/attaswift/BigInt.git", from: "6.0.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/hummingbird-project/swift-websocket.git", from: "1.6.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-websocket.git", from: "2.8.1"),
        .package(url: "https://github.com/swiftwasm/WasmKit.git", from: "0.4.2"),
        .package(url: "https://github.com/x-sheep/swift-property-based.git", from: "2.0.1"),
    ],
    targets: [
        // Value types and the generated canonical schema; no I/O.
        .target(
            name: "TributaryModel",
            dependencies: [.product(name: "SwiftProtobuf", package: "swift-protobuf")],
            exclude: ["Generated/README.md"],
            swiftSettings: strictSwift
        ),
        // The log abstraction, its in-memory implementation and shared pieces.
        .target(
            name: "EventLog",
            dependencies: [
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strictSwift
        ),
        // The embedded durable log on SQLite; the only importer of GRDB.
        .target(
            name: "EmbeddedLog",
            dependencies: [
                "EventLog",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSwift
        ),
        // Debian's librdkafka; imported by KafkaLog only.
        .systemLibrary(
            name: "CRdKafka",
            pkgConfig: "rdkafka",
            providers: [.apt(["librdkafka-dev"])]
        ),
        .target(
            name: "KafkaLog",
            dependencies: [
                "EventLog", "CRdKafka",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ],
            swiftSettings: strictSwift
        ),
        // Ethereum: keccak-256, the contract ABI, EIP-55; later the JSON-RPC client and the adapter.
        .target(
            name: "EVM",
            dependencies: [.product(name: "BigInt", package: "BigInt")],
            swiftSettings: strictSwift
        ),
        // Normalization, decoding, triggers, the filter language and the router.
        .target(
            name: "Processor",
            dependencies: [
                "EVM", "EventLog", "TributaryModel",
                .product(name: "BigInt", package: "BigInt"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strictSwift
        ),
        // The chain adapter role: JSON-RPC transport, backfill, live tail, reorgs, finality.
        .target(
            name: "ChainAdapter",
            dependencies: [
                "EVM", "EventLog", "TributaryModel",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "WSClient", package: "swift-websocket"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strictSwift
        ),
        // The WebAssembly function host: runtime, ABIs, limits; only importer of WasmKit.
        .target(
            name: "FunctionHost",
            dependencies: [
                "EventLog", "TributaryModel",
                .product(name: "WasmKit", package: "WasmKit"),
                .product(name: "WasmKitWASI", package: "WasmKit"),
                .product(name: "WASI", package: "WasmKit"),
                .product(name: "WasmParser", package: "WasmKit"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ],
            swiftSettings: strictSwift
        ),
        // The API gateway: REST, WebSocket and SSE; the only importer of Hummingbird.
        .target(
            name: "Gateway",
            dependencies: [
                "EventLog", "TributaryModel", "Processor", "FunctionHost",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ],
            swiftSettings: strictSwift
        ),
        // CLI commands and the one place that assembles services.
        .target(
            name: "TributaryCommands",
            dependencies: [
                "TributaryModel", "EventLog", "EmbeddedLog", "KafkaLog", "EVM", "Processor", "ChainAdapter",
                "FunctionHost", "Gateway",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strictSwift
        ),
        .executableTarget(name: "tributary", dependencies: ["TributaryCommands"], swiftSettings: strictSwift),
        // Test support: never linked by production targets.
        .target(
            name: "TributaryTesting",
            dependencies: ["EventLog", "KafkaLog", "TributaryModel", "ChainAdapter", "EVM"],
            swiftSettings: strictSwift
        ),
        // A librdkafka mock cluster in its own process, for the multi-process end-to-end tests.
        .executableTarget(
            name: "TributaryKafkaMock",
            dependencies: ["TributaryTesting", "EventLog", "TributaryModel"],
            swiftSettings: strictSwift
        ),
        // Benchmarks (release builds; see BENCHMARKS.md).
        .executableTarget(
            name: "TributaryBench",
            dependencies: [
                "EventLog", "EmbeddedLog", "KafkaLog", "Processor", "EVM", "ChainAdapter", "FunctionHost", "Gateway",
                "TributaryModel",
                "TributaryTesting", .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                // The paced pipeline benchmark's clients: the devnet's newHeads and the gateway's results.
                .product(name: "WSClient", package: "swift-websocket"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ],
            path: "bench/TributaryBench",
            swiftSettings: strictSwift
        ),
        .testTarget(
            name: "EVMTests",
            dependencies: ["EVM", .product(name: "PropertyBased", package: "swift-property-based")],
            swiftSettings: strictSwift
        ),
        .testTarget(
            name: "ChainAdapterTests",
            dependencies: ["ChainAdapter", "EVM", "EventLog", "EmbeddedLog", "TributaryModel", "TributaryTesting"],
            swiftSettings: strictSwift
        ),
        .testTarget(
            name: "FunctionHostTests",
            dependencies: [
                "FunctionHost", "EventLog", "TributaryModel", .product(name: "WAT", package: "WasmKit"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ],
            swiftSettings: strictSwift
        ),
        .testTarget(
            name: "ProcessorTests",
            dependencies: ["Processor", "EVM", "EventLog", "TributaryModel", "TributaryTesting"],
            swiftSettings: strictSwift
        ),
        .testTarget(
            name: "TributaryModelTests",
            dependencies: ["TributaryModel", .product(name: "PropertyBased", package: "swift-property-based")],
            swiftSettings: strictSwift
        ),
        .testTarget(
            name: "EventLogTests",
            dependencies: ["EventLog", "TributaryTesting"],
            swiftSettings: strictSwift
        ),
        .testTarget(
            name: "EmbeddedLogTests",
            dependencies: ["EmbeddedLog", "EventLog", "TributaryTesting"],
            swiftSettings: strictSwift
        ),
        .testTarget(
            name: "KafkaLogTests",
            dependencies: ["KafkaLog", "EventLog", "TributaryTesting"],
            swiftSettings: strictSwift
        ),
        .testTarget(
            name: "GatewayTests",
            dependencies: [
                "Gateway", "EventLog", "TributaryModel", "TributaryTesting", "FunctionHost",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "WAT", package: "WasmKit"),
                .product(name: "WSClient", package: "swift-websocket"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
            ],
            swiftSettings: strictSwift
        ),
        // Every role as its own process on a mock Kafka cluster process, with the devnet.
        .testTarget(
            name: "EndToEndTests",
            dependencies: [
                "TributaryTesting", "KafkaLog", "EmbeddedLog", "EventLog", "TributaryModel", "ChainAdapter", "EVM",
                "Processor",
            ],
            swiftSettings: strictSwift
        ),
        .testTarget(
            name: "TributaryCommandsTests",
            dependencies: ["TributaryCommands", "EventLog", "EmbeddedLog", "TributaryTesting"],
            swiftSettings: strictSwift
        ),
    ]
)
