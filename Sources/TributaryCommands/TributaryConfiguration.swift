import ChainAdapter
import EmbeddedLog
import Foundation
import FunctionHost
import Gateway
import KafkaLog
import Processor
import TributaryModel

/// Everything a Tributary process is configured with. Built from defaults, then a YAML file,
/// then `TRIBUTARY_*` environment variables, then flags (see `TributaryConfiguration+ConfigReader.swift`
/// and `docs/configuration.md`).
public struct TributaryConfiguration: Sendable {
    /// Which log implementation the roles talk to.
    public enum Backend: String, Sendable, CaseIterable {
        /// SQLite in the data directory: one process, no servers.
        case embedded
        /// A Kafka (or Redpanda) cluster.
        case kafka
    }

    /// The log implementation. Default: `.embedded` (`.kafka` when brokers are given).
    public var backend: Backend
    /// How record values are written; readers accept both. Default: `.json`.
    public var encoding: RecordEncoding
    /// Partitions of the standard topics when Tributary creates them. Default: 3.
    public var topicPartitions: Int
    /// The embedded log. Default: see ``EmbeddedLogConfiguration`` (data directory `./.tributary`).
    public var embedded: EmbeddedLogConfiguration
    /// The Kafka log. Default: see ``KafkaConfiguration``.
    public var kafka: KafkaConfiguration
    /// Contract ABI JSON files the processor decodes with and triggers may name, each known by
    /// its file name without extension. Default: none (the built-in ABIs only).
    public var abiFiles: [String] = []
    /// Events of recent, not yet finalized blocks the processor keeps to answer their finality
    /// transitions without normalizing them again. Default: see
    /// ``ProcessorService/Configuration/reusedEvents`` (20,000).
    public var processorReusedEvents = ProcessorService.Configuration().reusedEvents
    /// Chain adapters by name (`chains.<name>.*`). Default: none (`tributary dev` then starts the
    /// local development chain and follows it).
    public var chains: [String: ChainAdapterConfiguration] = [:]
    /// The wasm-host role (`wasmHost.*`). Default: see ``FunctionHostService/Configuration``.
    public var wasmHost = FunctionHostService.Configuration()
    /// The API gateway (`gateway.*`). Default: see ``GatewayConfiguration``.
    public var gateway = GatewayConfiguration()
    /// Health, readiness and metrics endpoints of `tributary run` (`operations.*`).
    var operations = OperationsConfiguration()

    /// Creates a configuration with every default.
    public init(
        backend: Backend = .embedded, encoding: RecordEncoding = .json, topicPartitions: Int = 3,
        embedded: EmbeddedLogConfiguration = EmbeddedLogConfiguration(),
        kafka: KafkaConfiguration = KafkaConfiguration()
    ) {
        self.backend = backend
        self.encoding = encoding
        self.topicPartitions = topicPartitions
        self.embedded = embedded
        self.kafka = kafka
    }
}

extension TributaryConfiguration {
    /// Reads the ``abiFiles``.
    ///
    /// - Throws: ``CommandError`` naming the file that cannot be read.
    func loadABIs() throws -> [(name: String, json: String)] {
        try abiFiles.map { path in
            do {
                let json = try String(contentsOfFile: path, encoding: .utf8)
                return (URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent, json)
            } catch {
                throw CommandError(
                    .invalidConfiguration, "processor.abiFiles: cannot read '\(path)': \(error.localizedDescription)")
            }
        }
    }
}
