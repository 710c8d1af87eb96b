import Foundation
import Testing
import TributaryTesting

@testable import TributaryCommands

@Suite struct ConfigurationTests {
    @Test func defaultsApplyWithNoSources() throws {
        let (configuration, sources) = try TributaryConfiguration.load(file: nil, environment: [:])
        #expect(configuration.backend == .embedded)
        #expect(configuration.encoding == .json)
        #expect(configuration.embedded.directory == "./.tributary")
        #expect(sources.isEmpty)
    }

    @Test func flagsOverrideEnvironmentWhichOverridesTheFile() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let file = directory.appending("tributary.yaml")
        try """
        log:
          encoding: protobuf
          partitions: 6
        embedded:
          directory: /from/file
          maintenanceInterval: 5m
        """.write(toFile: file, atomically: true, encoding: .utf8)
        let (configuration, sources) = try TributaryConfiguration.load(
            file: file,
            environment: [
                "TRIBUTARY_EMBEDDED_DIRECTORY": "/from/env", "TRIBUTARY_LOG_PARTITIONS": "8", "PATH": "/bin",
            ],
            flags: [(key: "embedded.directory", value: "/from/flag", flag: "--data")])
        #expect(configuration.encoding == .protobuf)
        #expect(configuration.topicPartitions == 8)
        #expect(configuration.embedded.directory == "/from/flag")
        #expect(configuration.embedded.maintenanceInterval == .seconds(300))
        #expect(sources["log.encoding"] == .file(file))
        #expect(sources["log.partitions"] == .environment("TRIBUTARY_LOG_PARTITIONS"))
        #expect(sources["embedded.directory"] == .flag("--data"))
    }

    @Test func theProcessorsKeptEventsAreConfigurable() throws {
        let (defaults, _) = try TributaryConfiguration.load(file: nil, environment: [:])
        #expect(defaults.processorReusedEvents == 20_000)
        let (configured, _) = try TributaryConfiguration.load(
            file: nil, environment: ["TRIBUTARY_PROCESSOR_REUSED_EVENTS": "50000"])
        #expect(configured.processorReusedEvents == 50_000)
        #expect(throws: CommandError.self) {
            try TributaryConfiguration.load(file: nil, environment: ["TRIBUTARY_PROCESSOR_REUSED_EVENTS": "-1"])
        }
    }

    @Test func brokersSelectKafka() throws {
        let (configuration, _) = try TributaryConfiguration.load(
            file: nil, environment: ["TRIBUTARY_KAFKA_BROKERS": "127.0.0.1:9092, 127.0.0.1:9093"])
        #expect(configuration.backend == .kafka)
        #expect(configuration.kafka.bootstrapServers == "127.0.0.1:9092,127.0.0.1:9093")
    }

    @Test func explicitBackendAndDataFlagWinOverBrokers() throws {
        let environment = ["TRIBUTARY_KAFKA_BROKERS": "127.0.0.1:9092"]
        let (explicit, _) = try TributaryConfiguration.load(
            file: nil, environment: environment.merging(["TRIBUTARY_LOG_BACKEND": "embedded"]) { $1 })
        #expect(explicit.backend == .embedded)
        let (dataFlag, _) = try TributaryConfiguration.load(
            file: nil, environment: environment, flags: [(key: "embedded.directory", value: "/d", flag: "--data")])
        #expect(dataFlag.backend == .embedded)
    }

    @Test func durationsAreBounded() throws {
        let error = try #require(throws: CommandError.self) {
            try TributaryConfiguration.load(
                file: nil, environment: ["TRIBUTARY_KAFKA_MESSAGE_TIMEOUT": "99999999999999999s"])
        }
        #expect(error.reason.contains("at most 365 days"))
        #expect(throws: CommandError.self) {
            try TributaryConfiguration.load(file: nil, environment: ["TRIBUTARY_EMBEDDED_MAINTENANCE_INTERVAL": "0s"])
        }
    }

    @Test func unknownKeyInFileIsNamedWithSuggestions() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let file = directory.appending("bad.yaml")
        try "kafka:\n  broker: localhost:9092\n".write(toFile: file, atomically: true, encoding: .utf8)
        let error = try #require(throws: CommandError.self) {
            try TributaryConfiguration.load(file: file, environment: [:])
        }
        #expect(error.reason.contains("unknown key 'kafka.broker'"))
        #expect(error.reason.contains("kafka.brokers"))
        #expect(error.reason.hasPrefix(file))
    }

    @Test func badValueNamesKeySourceAndExpectation() throws {
        let error = try #require(throws: CommandError.self) {
            try TributaryConfiguration.load(file: nil, environment: ["TRIBUTARY_LOG_ENCODING": "xml"])
        }
        #expect(
            error.reason
                == "environment TRIBUTARY_LOG_ENCODING: key 'log.encoding': expected one of json, protobuf, got 'xml'")
    }

    @Test func unknownTributaryVariableIsRejected() throws {
        let error = try #require(throws: CommandError.self) {
            try TributaryConfiguration.load(file: nil, environment: ["TRIBUTARY_LOG_ENCODNG": "json"])
        }
        #expect(error.reason.contains("TRIBUTARY_LOG_ENCODNG"))
    }

    @Test func malformedYAMLAndBadDurationsAreClear() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let file = directory.appending("broken.yaml")
        try "log: [unclosed\n".write(toFile: file, atomically: true, encoding: .utf8)
        let yamlError = try #require(throws: CommandError.self) {
            try TributaryConfiguration.load(file: file, environment: [:])
        }
        #expect(yamlError.reason.contains("not valid YAML"))
        let durationError = try #require(throws: CommandError.self) {
            try TributaryConfiguration.load(file: nil, environment: ["TRIBUTARY_EMBEDDED_MAINTENANCE_INTERVAL": "soon"])
        }
        #expect(durationError.reason.contains("expected a duration"))
    }

    @Test func theWasmHostLimitPolicyIsConfigurable() throws {
        let (configuration, _) = try TributaryConfiguration.load(
            file: nil,
            environment: ["TRIBUTARY_WASM_HOST_DEFAULTS_FUEL": "5000", "TRIBUTARY_WASM_HOST_MAXIMUMS_TIMEOUT": "2s"],
            flags: [(key: "wasmHost.workers", value: "3", flag: "--set")])
        #expect(configuration.wasmHost.workers == 3)
        #expect(configuration.wasmHost.policy.defaults.fuel == 5_000)
        #expect(configuration.wasmHost.policy.maximums.timeout == .seconds(2))
        #expect(configuration.wasmHost.policy.defaults.memoryPages == 16)
        let error = #expect(throws: CommandError.self) {
            try TributaryConfiguration.load(
                file: nil, environment: ["TRIBUTARY_WASM_HOST_DEFAULTS_MEMORY_PAGES": "2048"])
        }
        #expect(error?.reason.contains("wasmHost.defaults.memoryPages is above wasmHost.maximums.memoryPages") == true)
    }

    @Test func gatewayOriginsAndKeysAreValidated() throws {
        let (configuration, _) = try TributaryConfiguration.load(
            file: nil, environment: ["TRIBUTARY_GATEWAY_PORT": "0"],
            flags: [
                (
                    key: "gateway.allowedOrigins", value: "https://a.example, http://localhost:5173",
                    flag: "--allowed-origins"
                )
            ])
        #expect(configuration.gateway.allowedOrigins == ["https://a.example", "http://localhost:5173"])
        #expect(configuration.gateway.port == 0 && configuration.gateway.host == "127.0.0.1")
        let origin = #expect(throws: CommandError.self) {
            try TributaryConfiguration.load(
                file: nil, environment: [:],
                flags: [(key: "gateway.allowedOrigins", value: "app.example", flag: "--allowed-origins")])
        }
        #expect(
            origin?.reason.contains("flag --allowed-origins") == true
                && origin?.reason.contains("not an origin") == true)
        let key = #expect(throws: CommandError.self) {
            try TributaryConfiguration.load(file: nil, environment: ["TRIBUTARY_GATEWAY_ADMIN_KEY": "short"])
        }
        #expect(key?.reason.contains("at least 24 characters") == true)
        #expect(key?.reason.contains("short") == false, "a rejected key is not echoed")
    }

    @Test func environmentNamesAreUpperSnakeCase() {
        let names = Set(TributaryConfiguration.keys.map(\.environmentName))
        #expect(names.contains("TRIBUTARY_KAFKA_CLIENT_ID"))
        #expect(names.contains("TRIBUTARY_EMBEDDED_MAINTENANCE_INTERVAL"))
    }
}

@Suite struct ChainConfigurationTests {
    @Test func chainsAreReadFromTheFileWithEndpointWeightsAndLimits() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let file = directory.appending("tributary.yaml")
        try """
        chains:
          mainnet:
            chainId: 1
            rpc: [https://eth.example/v2/SECRET, "https://backup.example/KEY weight=0.5 rps=10"]
            ws: wss://eth.example/v2/SECRET
            start: 19000000
            confirmations: 20
            backfill:
              parallel: 8
          base:
            chainId: 8453
            rpc: https://base.example
        """.write(toFile: file, atomically: true, encoding: .utf8)
        let (configuration, _) = try TributaryConfiguration.load(
            file: file, environment: [:], flags: [(key: "chains.base.start", value: "latest", flag: "--set")])
        let mainnet = try #require(configuration.chains["mainnet"])
        #expect(mainnet.chainID == 1 && mainnet.caip2 == "eip155:1" && mainnet.source == "eip155:1/mainnet")
        #expect(mainnet.endpoints.map(\.url) == ["https://eth.example/v2/SECRET", "https://backup.example/KEY"])
        #expect(mainnet.endpoints[1].weight == 0.5 && mainnet.endpoints[1].requestsPerSecond == 10)
        #expect(mainnet.webSocketURL == "wss://eth.example/v2/SECRET")
        #expect(mainnet.start == .number(19_000_000) && mainnet.confirmations == 20)
        #expect(mainnet.backfill.maximumInFlight == 8 && mainnet.reorgWindow == 128)
        #expect(configuration.chains["base"]?.start == .latest)
    }

    @Test func aChainWithoutEndpointsOrWithAnUnknownFieldIsNamed() throws {
        let missing = #expect(throws: CommandError.self) {
            try TributaryConfiguration.load(
                file: nil, environment: [:], flags: [(key: "chains.x.chainId", value: "5", flag: "--set")])
        }
        #expect(missing?.reason == "chains.x.rpc is required (one or more JSON-RPC URLs)")
        let unknown = #expect(throws: CommandError.self) {
            try TributaryConfiguration.load(
                file: nil, environment: [:], flags: [(key: "chains.x.rcp", value: "http://a", flag: "--set")])
        }
        #expect(unknown?.reason.contains("unknown chain field 'rcp'") == true)
        let badURL = #expect(throws: CommandError.self) {
            try TributaryConfiguration.load(
                file: nil, environment: [:], flags: [(key: "chains.x.rpc", value: "ftp://secret", flag: "--set")])
        }
        #expect(badURL?.reason.contains("secret") == false, "URLs are not echoed: they may carry keys")
    }
}
