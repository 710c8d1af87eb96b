import ArgumentParser
import ChainAdapter
import EventLog
import Foundation
import FunctionHost
import Gateway
import Processor
import ServiceLifecycle
import TributaryModel

/// `tributary dev`: every role in one process on the embedded log.
///
/// Opens the embedded log, creates the standard topics and runs the chain adapters, the
/// processor, the router and the wasm-host in a service group until SIGINT or SIGTERM. With no
/// chain configured (`chains.*` or `--rpc`) it starts the local development chain with its
/// traffic generator and follows it. The gateway serves on `gateway.port` (8080) with a development admin key kept in the data
/// directory (`dev-admin-key`, created on first run) unless `gateway.adminKey` is set.
struct DevCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dev", abstract: "Run Tributary in one process on the embedded log (Ctrl-C to stop).")

    @OptionGroup var options: GlobalOptions
    @OptionGroup var gatewayOptions: GatewayOptions
    @OptionGroup var chainOptions: ChainOptions

    @Flag(name: .long, help: "Set up the log and topics, print the summary and exit instead of running.")
    var once = false

    @Flag(name: .long, help: "Do not start the local development chain when no chain is configured.")
    var noDevnet = false

    func run() async throws {
        var (configuration, _) = try options.loadConfiguration(
            extraFlags: gatewayOptions.flagValues() + (try await chainOptions.flagValues()))
        if configuration.backend != .embedded {
            throw CommandError(
                .invalidConfiguration,
                "tributary dev runs on the embedded log (remove log.backend/kafka.brokers or pass --data); on Kafka run the roles with tributary run <role>… --kafka host:port"
            )
        }
        configuration.backend = .embedded
        // A second `tributary dev` on this directory would run every role again (EmbeddedRoleLocks).
        let adapterChains =
            configuration.chains.isEmpty ? (noDevnet ? [] : ["devnet"]) : configuration.chains.values.map(\.name)
        let locks =
            once
            ? nil
            : try EmbeddedRoleLocks.acquire(
                EmbeddedRoleLocks.names(roles: Set(Role.allCases), chains: adapterChains),
                directory: configuration.embedded.directory)
        defer { withExtendedLifetime(locks) {} }
        var logger = options.makeLogger()
        logger.logLevel = options.verbose ? .debug : .info
        let log = try await EventLogFactory.makeLog(configuration, logger: logger)
        try await EventLogFactory.createStandardTopics(in: log, configuration: configuration)
        let topics = try await log.describeTopics()
        let directory = URL(fileURLWithPath: configuration.embedded.directory).standardizedFileURL.path
        print("tributary dev: embedded log ready in \(directory)")
        for topic in topics {
            let records = topic.partitions.reduce(Int64(0)) { $0 + $1.endOffset - $1.startOffset }
            print("  \(topic.name): \(topic.partitions.count) partitions, \(records) records")
        }
        let startsDevnet = configuration.chains.isEmpty && !noDevnet && !once
        let chainSummary =
            configuration.chains.isEmpty
            ? (startsDevnet ? "chain adapter (devnet)" : "no chain adapter (no chains configured)")
            : "chain adapters (\(configuration.chains.keys.sorted().joined(separator: ", ")))"
        let keyFile = URL(fileURLWithPath: directory).appendingPathComponent("dev-admin-key").path
        let usesDevelopmentKey = configuration.gateway.adminKey == nil
        if usesDevelopmentKey {
            configuration.gateway.adminKey = try Self.developmentKey(at: keyFile)
        }
        let gatewayURL = "http://\(configuration.gateway.host):\(configuration.gateway.port)"
        let keySource =
            usesDevelopmentKey ? "the development admin key is in \(keyFile)" : "admin key: gateway.adminKey"
        let example = once ? nil : try await DevExample.deployOnFirstRun(log: log, configuration: configuration)
        var announcementLines = [
            "running: event log (embedded, \(configuration.encoding.rawValue) records), \(chainSummary), processor, router, wasm-host, gateway",
            "gateway: \(gatewayURL)/v1 (OpenAPI: \(gatewayURL)/v1/openapi.json); \(keySource)",
            "stream:  ws://\(configuration.gateway.host):\(configuration.gateway.port)/v1/stream (docs/api.md)",
            "inspect: tributary topics --data \(configuration.embedded.directory)",
            "         tributary tail canonical-events --data \(configuration.embedded.directory)",
            "         tributary tail --stream results --gateway \(gatewayURL)",
        ]
        if let example { announcementLines.insert(example, at: 3) }
        if once {
            announcementLines.forEach { print($0) }
            fflush(nil)
        } else {
            Observability.bootstrap()
            // Announced from inside the group: its signal handlers are installed by then, so a
            // Ctrl-C right after the announcement stops everything gracefully.
            var services: [ServiceGroupConfiguration.ServiceConfiguration] = []
            var chains = configuration.chains.values.sorted { $0.name < $1.name }
            if startsDevnet {
                print("tributary dev: starting the local development chain (devnet/) with its traffic generator")
                let devnet = try await DevnetLauncher(arguments: ["--block-time", "2", "--traffic", "3"])
                print("  devnet: \(devnet.ready.httpURL) (chain id \(devnet.ready.chainID))")
                // Listed first: the group stops services in reverse order, so it stops last.
                services.append(.init(service: DevnetService(devnet: devnet)))
                chains.append(
                    ChainAdapterConfiguration(
                        name: "devnet", chainID: devnet.ready.chainID,
                        endpoints: [JSONRPCEndpoint(url: devnet.ready.httpURL)],
                        webSocketURL: devnet.ready.webSocketURL, start: .number(0), confirmations: 4,
                        pollInterval: .seconds(1)))
            }
            services.append(.init(service: AnnouncementService(lines: announcementLines)))
            services += try RoleAssembly(configuration: configuration, log: log, logger: logger)
                .services(for: Set(Role.allCases), chains: chains)
            let group = ServiceGroup(
                configuration: ServiceGroupConfiguration(
                    services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
            try await group.run()
            print("tributary dev: stopped")
        }
        try await log.shutdown()
    }
}

extension DevCommand {
    /// The development admin key in `path`, created (readable by the owner only) when missing.
    static func developmentKey(at path: String) throws -> String {
        if let existing = try? String(contentsOfFile: path, encoding: .utf8), existing.count >= 24 {
            return existing.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        let key = APIKeySecret.generate()
        guard
            FileManager.default.createFile(
                atPath: path, contents: Data(key.utf8), attributes: [.posixPermissions: 0o600])
        else {
            throw CommandError(.unavailable, "cannot write the development admin key to \(path)")
        }
        return key
    }
}

/// Prints what `tributary dev` runs once the service group is up, then waits for shutdown.
struct AnnouncementService: Service {
    let lines: [String]

    func run() async throws {
        lines.forEach { print($0) }
        fflush(nil)
        try? await gracefulShutdown()
    }
}
