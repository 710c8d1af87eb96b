import ArgumentParser
import EmbeddedLog
import EventLog
import Foundation
import KafkaLog
import Logging
import TributaryModel

/// Options every command that touches the log accepts.
struct GlobalOptions: ParsableArguments {
    @Option(
        name: .long, help: "YAML configuration file (default: $TRIBUTARY_CONFIG, else ./tributary.yaml if present).")
    var config: String?

    @Option(name: .long, help: "Data directory of the embedded log (default: ./.tributary).")
    var data: String?

    @Option(name: .long, help: "Kafka brokers host:port[,host:port…]; selects the Kafka log.")
    var kafka: String?

    @Option(name: .long, help: "Value encoding for records this process writes: json or protobuf.")
    var encoding: String?

    @Flag(name: .long, help: "Also print the log client's warnings (for example librdkafka's connection errors).")
    var verbose = false

    @Option(
        name: .customLong("set"),
        help: ArgumentHelp("Any configuration key, as key=value (repeatable).", valueName: "key=value"))
    var settings: [String] = []

    /// The flags as configuration keys, in the order they take effect.
    func flagValues() throws -> [(key: String, value: String, flag: String)] {
        var values: [(key: String, value: String, flag: String)] = []
        for setting in settings {
            guard let equals = setting.firstIndex(of: "=") else {
                throw CommandError(.invalidConfiguration, "flag --set '\(setting)': expected key=value")
            }
            values.append((String(setting[..<equals]), String(setting[setting.index(after: equals)...]), "--set"))
        }
        if let data { values.append(("embedded.directory", data, "--data")) }
        if let kafka { values.append(("kafka.brokers", kafka, "--kafka")) }
        if let encoding { values.append(("log.encoding", encoding, "--encoding")) }
        return values
    }

    /// The layered configuration; `extraFlags` are the command's own flags, applied last.
    func loadConfiguration(
        extraFlags: [(key: String, value: String, flag: String)] = []
    ) throws -> (TributaryConfiguration, [String: ConfigurationSource]) {
        try TributaryConfiguration.load(
            file: config, environment: ProcessInfo.processInfo.environment, flags: try flagValues() + extraFlags)
    }
}

/// Opens the log a configuration names: the one place that picks an implementation.
enum EventLogFactory {
    static func makeLog(_ configuration: TributaryConfiguration, logger: Logger) async throws -> any EventLog {
        switch configuration.backend {
        case .embedded:
            return try await EmbeddedEventLog.open(configuration: configuration.embedded, logger: logger)
        case .kafka:
            return try KafkaEventLog(configuration: configuration.kafka, logger: logger)
        }
    }

    /// Creates every standard topic that does not exist yet, with `log.partitions` partitions;
    /// existing topics are kept as they are (an operator may have created them with more).
    static func createStandardTopics(in log: any EventLog, configuration: TributaryConfiguration) async throws {
        let existing = Set(try await log.describeTopics().map(\.name))
        for topic in StandardTopic.all where !existing.contains(topic.name) {
            try await log.createTopic(
                TopicConfiguration(
                    name: topic.name, partitions: configuration.topicPartitions, compacted: topic.compacted))
        }
    }
}

/// Runs `body` with an open log and shuts the log down afterwards, also on error.
func withEventLog<Result>(
    _ configuration: TributaryConfiguration, logger: Logger, _ body: (any EventLog) async throws -> Result
) async throws -> Result {
    let log = try await EventLogFactory.makeLog(configuration, logger: logger)
    do {
        let result = try await body(log)
        try await log.shutdown()
        return result
    } catch {
        try? await log.shutdown()
        throw error
    }
}

extension GlobalOptions {
    /// A logger for command-line use: silent but for critical messages, so a failing command
    /// prints one error line; `--verbose` shows warnings too.
    func makeLogger() -> Logger {
        var logger = Logger(label: "tributary")
        logger.logLevel = verbose ? .warning : .critical
        return logger
    }
}
