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

    @Test func environmentNamesAreUpperSnakeCase() {
        let names = Set(TributaryConfiguration.keys.map(\.environmentName))
        #expect(names.contains("TRIBUTARY_KAFKA_CLIENT_ID"))
        #expect(names.contains("TRIBUTARY_EMBEDDED_MAINTENANCE_INTERVAL"))
    }
}
