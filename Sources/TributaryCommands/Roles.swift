import ArgumentParser
import ChainAdapter
import EventLog
import FunctionHost
import Gateway
import Logging
import Processor
import ServiceLifecycle
import TributaryModel

/// A Tributary role: one stage of the pipeline, run by `tributary dev` (all of them) or
/// `tributary run` (the chosen ones).
enum Role: String, CaseIterable, Sendable, ExpressibleByArgument {
    /// Chain adapters: JSON-RPC → `raw-events`.
    case adapter
    /// `raw-events` → `canonical-events`.
    case processor
    /// `canonical-events` → `function-invocations`.
    case router
    /// `function-invocations` → `function-results`.
    case wasmHost = "wasm-host"
    /// REST and streams.
    case gateway
}

/// Builds the services of the chosen roles over one log: the one place that wires roles to
/// their configuration, shared by `dev` and `run`.
struct RoleAssembly {
    let configuration: TributaryConfiguration
    let log: any EventLog
    let logger: Logger

    /// The services for `roles`, in pipeline order (the group stops them in reverse: the gateway
    /// first, the adapters last). `chains` are the adapters to run when `roles` has `.adapter`.
    func services(
        for roles: Set<Role>, chains: [ChainAdapterConfiguration]
    ) throws -> [ServiceGroupConfiguration.ServiceConfiguration] {
        let encoding = configuration.encoding
        let abis = try ABIRegistryBuilder.configured(try configuration.loadABIs())
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = []
        if roles.contains(.adapter) {
            for chain in chains {
                services.append(
                    .init(
                        service: ChainAdapterService(configuration: chain, log: log, encoding: encoding, logger: logger)
                    ))
            }
        }
        if roles.contains(.processor) {
            services.append(
                .init(
                    service: ProcessorService(
                        log: log, abis: abis,
                        configuration: .init(encoding: encoding, reusedEvents: configuration.processorReusedEvents),
                        logger: logger)))
        }
        if roles.contains(.router) {
            services.append(
                .init(
                    service: RouterService(
                        log: log, abis: abis, configuration: .init(encoding: encoding), logger: logger)))
        }
        if roles.contains(.wasmHost) {
            var host = configuration.wasmHost
            host.encoding = encoding
            services.append(.init(service: FunctionHostService(log: log, configuration: host, logger: logger)))
        }
        if roles.contains(.gateway) {
            var gateway = configuration.gateway
            gateway.encoding = encoding
            services.append(
                .init(
                    service: GatewayService(
                        log: log, configuration: gateway, policy: configuration.wasmHost.policy, abis: abis,
                        logger: logger, metrics: Observability.render)))
        }
        return services
    }

    /// Why the log is not usable by the roles right now (empty: it is): unreachable, or a
    /// standard topic is missing.
    func logProblems() async -> [String] {
        do {
            let names = Set(try await log.describeTopics().map(\.name))
            let missing = StandardTopic.all.map(\.name).filter { !names.contains($0) }
            return missing.isEmpty ? [] : ["topics missing: \(missing.joined(separator: ", "))"]
        } catch {
            return ["log unreachable: \(error)"]
        }
    }
}

/// `--rpc`: follow a chain without writing a configuration file.
struct ChainOptions: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp(
            "JSON-RPC URL(s) of a chain to follow (comma-separated), as chain 'rpc' starting at the latest block.",
            valueName: "url"))
    var rpc: String?

    @Option(name: .long, help: "The chain id --rpc must answer (default: ask it with eth_chainId).")
    var chainID: UInt64?

    /// The `chains.rpc.*` configuration keys for `--rpc` (none without it).
    func flagValues() async throws -> [(key: String, value: String, flag: String)] {
        guard let rpc else { return [] }
        var chainID = self.chainID
        if chainID == nil {
            let first = String(rpc.split(separator: ",").first ?? "").trimmingCharacters(in: .whitespaces)
            let endpoint = JSONRPCEndpoint(url: first)
            do {
                chainID = try await ChainRPCClient(pool: EndpointPool(endpoints: [endpoint], maximumAttempts: 2))
                    .chainID()
            } catch {
                throw CommandError(
                    .unavailable,
                    "--rpc \(endpoint.redacted): cannot read eth_chainId (\(error)); check the URL or pass --chain-id")
            }
        }
        return [("chains.rpc.rpc", rpc, "--rpc"), ("chains.rpc.chainId", String(chainID ?? 0), "--chain-id")]
    }
}
