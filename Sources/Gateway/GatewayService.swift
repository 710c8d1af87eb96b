import EventLog
import Foundation
import FunctionHost
import Hummingbird
import HummingbirdWebSocket
import Logging
import NIOCore
import Processor
import ServiceLifecycle

/// The gateway role: REST `/v1` (functions, triggers, keys, invocations), WebSocket and SSE
/// streams of events and results, health and the OpenAPI document, on Hummingbird.
public struct GatewayService: Service {
    private let log: any EventLog
    private let configuration: GatewayConfiguration
    private let policy: FunctionLimitPolicy
    private let abis: ABIRegistryBuilder
    private let logger: Logger
    private let onListening: @Sendable (Int) async -> Void
    private let metrics: (@Sendable () -> [UInt8])?
    /// The routes this gateway serves (filled when it starts), for the OpenAPI check.
    let routeTable = RouteTable()

    /// Creates the role over `log`.
    ///
    /// - Parameters:
    ///   - policy: the function limit policy deploys are validated against (the wasm-host's).
    ///   - abis: contract ABIs triggers may name (the processor's).
    ///   - metrics: renders the process's metrics in the Prometheus text format for `/metrics`
    ///     (nil: the route answers 503).
    ///   - onListening: called with the bound port once the server listens.
    public init(
        log: any EventLog, configuration: GatewayConfiguration = GatewayConfiguration(),
        policy: FunctionLimitPolicy = FunctionLimitPolicy(), abis: ABIRegistryBuilder = ABIRegistryBuilder(),
        logger: Logger = Logger(label: "tributary.gateway"), metrics: (@Sendable () -> [UInt8])? = nil,
        onListening: @escaping @Sendable (Int) async -> Void = { _ in }
    ) {
        self.metrics = metrics
        self.log = log
        self.configuration = configuration
        self.policy = policy
        self.abis = abis
        self.logger = logger
        self.onListening = onListening
    }

    public func run() async throws {
        let registry = Registry(log: log, encoding: configuration.encoding, policy: policy, abis: abis, logger: logger)
        let gatekeeper = Gatekeeper(keys: registry.keys, configuration: configuration)
        let invocations = InvocationTracker(log: log, capacity: configuration.recentResults)

        let router = Router(context: BasicRequestContext.self)
        router.add(middleware: OriginMiddleware(policy: gatekeeper.origins))
        router.add(middleware: ErrorMiddleware())
        RESTRoutes(
            registry: registry, gatekeeper: gatekeeper, invocations: invocations, log: log,
            configuration: configuration,
            metrics: metrics
        )
        .register(on: router, table: routeTable)
        let fanout = Fanout(log: log, sharedTail: configuration.sharedTail)
        let streams = StreamRoutes(
            log: log, fanout: fanout, gatekeeper: gatekeeper, configuration: configuration, logger: logger)
        streams.register(sse: router, table: routeTable)
        let webSocketRouter = Router(context: StreamRequestContext.self)
        streams.register(webSocket: webSocketRouter, table: routeTable)

        let onListening = onListening
        let logger = logger
        let application = Application(
            router: router,
            server: .http1WebSocketUpgrade(
                webSocketRouter: webSocketRouter,
                configuration: .init(
                    http1: .init(),
                    ws: .init(
                        maxFrameSize: configuration.maxMessageBytes, autoPing: .enabled(timePeriod: .seconds(30)),
                        validateUTF8: true))),
            configuration: .init(
                address: .hostname(configuration.host, port: configuration.port), serverName: "tributary"),
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? 0
                logger.info("gateway listening", metadata: ["address": "http://\(configuration.host):\(port)"])
                await onListening(port)
            },
            logger: logger)
        do {
            try await withThrowingDiscardingTaskGroup { group in
                for follower in registry.followers {
                    group.addTask { try await follower.run() }
                }
                group.addTask { try await invocations.run() }
                group.addTask { try await fanout.run() }
                for follower in registry.followers { await follower.waitUntilLoaded() }
                do {
                    try await application.run()
                } catch let error as IOError where error.errnoCode == EADDRINUSE {
                    throw GatewayError.portInUse(
                        "gateway", host: configuration.host, port: configuration.port, setting: "gateway.port")
                }
                group.cancelAll()
            }
        } catch is CancellationError {
            // Shutdown: the server and the followers stop by cancellation.
        }
    }
}
