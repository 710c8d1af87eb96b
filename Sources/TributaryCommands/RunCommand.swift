import ArgumentParser
import Foundation
import Gateway
import ServiceLifecycle

/// `tributary run <role>…`: the chosen roles against the configured log, for the distributed
/// mode. Processes running the same role share its topic through a consumer group, so adding a
/// process adds capacity (up to the topic's partition count). Each process serves `/healthz`,
/// `/readyz` and `/metrics` on `operations.port`. Stops gracefully on SIGINT or SIGTERM.
struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run chosen roles against the configured log (Kafka with --kafka); Ctrl-C to stop.",
        discussion: """
            Roles: adapter, processor, router, wasm-host, gateway, or all. Example:
              tributary run processor router --kafka broker1:9092,broker2:9092
            Processes running the same role share the work through a consumer group.
            See docs/operations.md.
            """)

    @Argument(help: ArgumentHelp("Roles to run: adapter processor router wasm-host gateway | all.", valueName: "role"))
    var roles: [String]

    @OptionGroup var options: GlobalOptions
    @OptionGroup var gatewayOptions: GatewayOptions
    @OptionGroup var chainOptions: ChainOptions

    func run() async throws {
        let chosen = try Self.parseRoles(roles)
        let (configuration, _) = try options.loadConfiguration(
            extraFlags: gatewayOptions.flagValues() + (try await chainOptions.flagValues()))
        let chains = configuration.chains.values.sorted { $0.name < $1.name }
        if chosen.contains(.adapter) && chains.isEmpty {
            throw CommandError(
                .invalidConfiguration,
                "the adapter role needs a chain: set chains.<name>.chainId and chains.<name>.rpc, or pass --rpc URL")
        }
        if chosen.contains(.gateway) && configuration.gateway.adminKey == nil {
            FileHandle.standardError.write(
                Data(
                    "tributary run: warning: gateway.adminKey is not set; only keys created before can use the gateway\n"
                        .utf8))
        }
        // On the embedded log a role runs in one process at a time (EmbeddedRoleLocks).
        let locks =
            configuration.backend == .embedded
            ? try EmbeddedRoleLocks.acquire(
                EmbeddedRoleLocks.names(roles: chosen, chains: chains.map(\.name)),
                directory: configuration.embedded.directory)
            : nil
        defer { withExtendedLifetime(locks) {} }
        var logger = options.makeLogger()
        logger.logLevel = options.verbose ? .debug : .info
        try await withEventLog(configuration, logger: logger) { log in
            try await EventLogFactory.createStandardTopics(in: log, configuration: configuration)
            Observability.bootstrap()
            let assembly = RoleAssembly(configuration: configuration, log: log, logger: logger)
            let operations = OperationsServer(
                host: configuration.operations.host, port: configuration.operations.port,
                metrics: Observability.render, readiness: { await assembly.logProblems() }, logger: logger)
            let names = Role.allCases.filter(chosen.contains).map(\.rawValue).joined(separator: ", ")
            let backend =
                configuration.backend == .kafka
                ? "Kafka at \(configuration.kafka.bootstrapServers)"
                : "the embedded log in \(configuration.embedded.directory)"
            // Listed first so it stops last: health stays answerable while the roles drain.
            let services =
                [
                    .init(service: operations),
                    .init(service: AnnouncementService(lines: ["tributary run: \(names) on \(backend)"])),
                ]
                + (try assembly.services(for: chosen, chains: chains))
            let group = ServiceGroup(
                configuration: ServiceGroupConfiguration(
                    services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
            try await group.run()
            print("tributary run: stopped")
        }
    }

    /// The roles named on the command line (`all` for every role).
    static func parseRoles(_ names: [String]) throws -> Set<Role> {
        var roles = Set<Role>()
        for name in names {
            if name == "all" {
                roles.formUnion(Role.allCases)
            } else if let role = Role(rawValue: name) {
                roles.insert(role)
            } else {
                throw CommandError(
                    .invalidConfiguration,
                    "unknown role '\(name)': expected \(Role.allCases.map(\.rawValue).joined(separator: ", ")) or all")
            }
        }
        guard !roles.isEmpty else {
            throw CommandError(.invalidConfiguration, "name at least one role to run (or all)")
        }
        return roles
    }
}
