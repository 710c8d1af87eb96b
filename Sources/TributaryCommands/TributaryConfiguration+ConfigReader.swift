import EmbeddedLog
import Foundation
import KafkaLog
import TributaryModel
import Yams

/// Where a configuration value came from, for `config check` and error messages.
public enum ConfigurationSource: Sendable, Hashable, CustomStringConvertible {
    case defaultValue
    case file(String)
    case environment(String)
    case flag(String)

    public var description: String {
        switch self {
        case .defaultValue: "default"
        case .file(let path): path
        case .environment(let name): "environment \(name)"
        case .flag(let name): "flag \(name)"
        }
    }
}

/// One configuration key: its dotted name, what it means, and how to apply a value.
struct ConfigurationKey: Sendable {
    var name: String
    var summary: String
    var apply: @Sendable (inout TributaryConfiguration, String) throws -> Void

    /// `TRIBUTARY_` plus the name in upper snake case: `kafka.clientId` → `TRIBUTARY_KAFKA_CLIENT_ID`.
    var environmentName: String {
        var result = "TRIBUTARY_"
        for character in name {
            if character == "." {
                result += "_"
            } else if character.isUppercase {
                result += "_" + String(character)
            } else {
                result += character.uppercased()
            }
        }
        return result
    }
}

/// A value that does not fit its key; the reader adds the key and the source.
struct ConfigurationValueProblem: Error {
    var reason: String
}

extension TributaryConfiguration {
    /// Every key the configuration understands.
    static let keys: [ConfigurationKey] = coreKeys + wasmHostKeys + gatewayKeys + operationsKeys

    private static let coreKeys: [ConfigurationKey] = [
        ConfigurationKey(
            name: "log.backend", summary: "embedded | kafka (default: embedded; kafka when brokers are set)"
        ) {
            $0.backend = try parseChoice($1)
        },
        ConfigurationKey(
            name: "log.encoding", summary: "json | protobuf: how record values are written (default: json)"
        ) {
            $0.encoding = try parseChoice($1)
        },
        ConfigurationKey(name: "log.partitions", summary: "partitions of the standard topics (default: 3)") {
            $0.topicPartitions = try parseInteger($1, in: 1...10_000)
        },
        ConfigurationKey(
            name: "embedded.directory", summary: "data directory of the embedded log (default: ./.tributary)"
        ) {
            guard !$1.isEmpty else { throw ConfigurationValueProblem(reason: "expected a directory path") }
            $0.embedded.directory = $1
        },
        ConfigurationKey(
            name: "embedded.durability", summary: "full | normal: fsync per batch or rely on the OS (default: full)"
        ) {
            $0.embedded.durability = try parseChoice($1)
        },
        ConfigurationKey(
            name: "embedded.maintenanceInterval", summary: "how often retention and compaction run (default: 30s)"
        ) {
            let interval = try parseDuration($1)
            guard interval >= .seconds(1) else {
                throw ConfigurationValueProblem(reason: "expected at least 1s, got '\($1)'")
            }
            $0.embedded.maintenanceInterval = interval
        },
        ConfigurationKey(name: "kafka.brokers", summary: "comma-separated host:port list; selects the Kafka backend") {
            let brokers = $1.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            guard !brokers.isEmpty, brokers.allSatisfy(isHostPort) else {
                throw ConfigurationValueProblem(reason: "expected host:port[,host:port…], got '\($1)'")
            }
            $0.kafka.bootstrapServers = brokers.joined(separator: ",")
        },
        ConfigurationKey(name: "kafka.clientId", summary: "client id brokers see (default: tributary)") {
            guard !$1.isEmpty else { throw ConfigurationValueProblem(reason: "expected a non-empty client id") }
            $0.kafka.clientID = $1
        },
        ConfigurationKey(
            name: "kafka.replicationFactor", summary: "replicas of topics Tributary creates; -1 = broker default"
        ) {
            $0.kafka.replicationFactor = try parseInteger($1, in: -1...32)
        },
        ConfigurationKey(name: "kafka.sessionTimeout", summary: "consumer group session timeout (default: 45s)") {
            $0.kafka.sessionTimeout = try parseDuration($1)
        },
        ConfigurationKey(
            name: "processor.abiFiles",
            summary: "comma-separated contract ABI JSON files to decode with (default: built-in ABIs only)"
        ) {
            $0.abiFiles = $1.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter {
                !$0.isEmpty
            }
        },
        ConfigurationKey(
            name: "processor.reusedEvents",
            summary: "events of blocks not yet finalized kept to answer their finality transitions (default: 20000)"
        ) {
            $0.processorReusedEvents = try parseInteger($1, in: 0...10_000_000)
        },
        ConfigurationKey(
            name: "kafka.operationTimeout",
            summary: "how long metadata, commit and admin requests may take (default: 10s)"
        ) {
            $0.kafka.operationTimeout = try parseDuration($1)
        },
        ConfigurationKey(
            name: "kafka.messageTimeout", summary: "how long an append may wait for acknowledgement (default: 60s)"
        ) {
            $0.kafka.messageTimeout = try parseDuration($1)
        },
    ]

    /// Loads the configuration: defaults, then the YAML file, then `TRIBUTARY_*` variables, then flags.
    ///
    /// - Parameters:
    ///   - file: a YAML file; `nil` reads `TRIBUTARY_CONFIG`, else `./tributary.yaml` when it exists.
    ///   - environment: the process environment.
    ///   - flags: values from command-line flags, by key name, with the flag that set them.
    /// - Returns: the configuration and, per key that was set, where its value came from.
    /// - Throws: ``CommandError`` naming the file or variable, the key and why it is wrong.
    static func load(
        file: String?, environment: [String: String], flags: [(key: String, value: String, flag: String)] = []
    ) throws -> (TributaryConfiguration, [String: ConfigurationSource]) {
        var configuration = TributaryConfiguration()
        var sources: [String: ConfigurationSource] = [:]
        let keysByName = Dictionary(uniqueKeysWithValues: keys.map { ($0.name, $0) })

        func apply(_ name: String, _ value: String, from source: ConfigurationSource) throws {
            do {
                if let key = keysByName[name] {
                    try key.apply(&configuration, value)
                } else if try !applyChainKey(name, value, to: &configuration) {
                    throw CommandError(
                        .invalidConfiguration, "\(source): unknown key '\(name)'\(suggestion(for: name))")
                }
            } catch let problem as ConfigurationValueProblem {
                throw CommandError(.invalidConfiguration, "\(source): key '\(name)': \(problem.reason)")
            }
            sources[name] = source
        }

        let explicitFile = file ?? environment["TRIBUTARY_CONFIG"]
        let path = explicitFile ?? (FileManager.default.fileExists(atPath: "tributary.yaml") ? "tributary.yaml" : nil)
        if let path {
            for (name, value) in try readYAML(path: path) {
                try apply(name, value, from: .file(path))
            }
        }
        let environmentNames = Dictionary(uniqueKeysWithValues: keys.map { ($0.environmentName, $0.name) })
        for (variable, value) in environment.sorted(by: { $0.key < $1.key }) where variable.hasPrefix("TRIBUTARY_") {
            if variable == "TRIBUTARY_CONFIG" { continue }
            guard let name = environmentNames[variable] else {
                throw CommandError(
                    .invalidConfiguration,
                    "environment \(variable): not a Tributary setting; known variables: \(environmentNames.keys.sorted().joined(separator: ", "))"
                )
            }
            try apply(name, value, from: .environment(variable))
        }
        for flag in flags {
            try apply(flag.key, flag.value, from: .flag(flag.flag))
        }
        configuration.backend = resolveBackend(configuration.backend, sources: sources)
        try configuration.validateChains()
        try configuration.validateWasmHost()
        return (configuration, sources)
    }

    /// The backend once every layer is applied: an explicit `log.backend` wins; else `--data`
    /// on the command line (without `--kafka`) means the embedded log; else brokers from any
    /// layer mean Kafka; else the embedded log.
    private static func resolveBackend(_ backend: Backend, sources: [String: ConfigurationSource]) -> Backend {
        if sources["log.backend"] != nil { return backend }
        let dataFlag = sources["embedded.directory"].map { if case .flag = $0 { true } else { false } } ?? false
        let brokersFlag = sources["kafka.brokers"].map { if case .flag = $0 { true } else { false } } ?? false
        if dataFlag && !brokersFlag { return .embedded }
        return sources["kafka.brokers"] != nil ? .kafka : .embedded
    }

    /// Flattens a YAML mapping into dotted keys with scalar (or comma-joined list) values.
    private static func readYAML(path: String) throws -> [(String, String)] {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw CommandError(
                .invalidConfiguration, "\(path): cannot read the configuration file (\(error.localizedDescription))")
        }
        let node: Node?
        do {
            node = try Yams.compose(yaml: text)
        } catch {
            throw CommandError(.invalidConfiguration, "\(path): not valid YAML: \(error)")
        }
        guard let node else { return [] }
        guard case .mapping = node else {
            throw CommandError(
                .invalidConfiguration, "\(path): expected a mapping of sections such as 'log:' and 'kafka:'")
        }
        var values: [(String, String)] = []
        func flatten(_ node: Node, prefix: String) throws {
            switch node {
            case .mapping(let mapping):
                for (key, value) in mapping {
                    guard let name = key.string else {
                        throw CommandError(.invalidConfiguration, "\(path): key under '\(prefix)' is not a string")
                    }
                    try flatten(value, prefix: prefix.isEmpty ? name : prefix + "." + name)
                }
            case .sequence(let sequence):
                let items = sequence.compactMap(\.string)
                guard items.count == sequence.count else {
                    throw CommandError(
                        .invalidConfiguration, "\(path): key '\(prefix)': expected a list of plain values")
                }
                values.append((prefix, items.joined(separator: ",")))
            case .scalar(let scalar):
                values.append((prefix, scalar.string))
            default:
                throw CommandError(
                    .invalidConfiguration, "\(path): key '\(prefix)': anchors and aliases are not supported")
            }
        }
        try flatten(node, prefix: "")
        return values
    }

    private static func suggestion(for name: String) -> String {
        let section = name.split(separator: ".").first.map(String.init) ?? ""
        let siblings = keys.map(\.name).filter { $0.hasPrefix(section + ".") }
        if siblings.isEmpty {
            let sections = Set(keys.map { String($0.name.split(separator: ".")[0]) } + ["chains"]).sorted()
                .joined(separator: ", ")
            return "; known sections: \(sections)"
        }
        return "; known keys: \(siblings.joined(separator: ", "))"
    }
}

private func parseChoice<Choice: RawRepresentable & CaseIterable>(_ text: String) throws -> Choice
where Choice.RawValue == String {
    guard let choice = Choice(rawValue: text.lowercased()) else {
        let choices = Choice.allCases.map(\.rawValue).joined(separator: ", ")
        throw ConfigurationValueProblem(reason: "expected one of \(choices), got '\(text)'")
    }
    return choice
}

func parseInteger(_ text: String, in range: ClosedRange<Int>) throws -> Int {
    guard let value = Int(text.trimmingCharacters(in: .whitespaces)), range.contains(value) else {
        throw ConfigurationValueProblem(
            reason: "expected an integer in \(range.lowerBound)…\(range.upperBound), got '\(text)'")
    }
    return value
}

/// Parses `250ms`, `30s`, `5m`, `2h`.
func parseDuration(_ text: String) throws -> Duration {
    let trimmed = text.trimmingCharacters(in: .whitespaces)
    let units: [(String, Duration)] = [
        ("ms", .milliseconds(1)), ("s", .seconds(1)), ("m", .seconds(60)), ("h", .seconds(3600)),
    ]
    for (suffix, unit) in units where trimmed.hasSuffix(suffix) {
        // Bounded so that conversions to milliseconds can never overflow.
        if let number = Int(trimmed.dropLast(suffix.count)), number >= 0, unit * number <= .seconds(31_536_000) {
            return unit * number
        }
    }
    throw ConfigurationValueProblem(
        reason: "expected a duration such as 250ms, 30s, 5m or 2h (at most 365 days), got '\(text)'")
}

private func isHostPort(_ text: String) -> Bool {
    guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]) else { return false }
    return colon != text.startIndex && (1...65_535).contains(port)
}
