import Foundation
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle

/// The operations endpoints of a process that runs roles without the gateway: `GET /healthz`
/// (alive), `GET /readyz` (200 when `readiness` finds nothing wrong, else 503 with the reasons)
/// and `GET /metrics` (Prometheus text format).
///
/// Unlike the gateway's `/metrics` these need no API key: the server carries no user data and
/// listens on 127.0.0.1 unless the operator points it at a private interface.
public struct OperationsServer: Service {
    /// What readiness found: an empty list means ready.
    public typealias Readiness = @Sendable () async -> [String]

    private let host: String
    private let port: Int
    private let metrics: @Sendable () -> [UInt8]
    private let readiness: Readiness
    private let logger: Logger
    private let onListening: @Sendable (Int) async -> Void

    /// Creates the server for `host`:`port` (0 picks a free port, logged as `address=`).
    public init(
        host: String, port: Int, metrics: @escaping @Sendable () -> [UInt8], readiness: @escaping Readiness,
        logger: Logger, onListening: @escaping @Sendable (Int) async -> Void = { _ in }
    ) {
        self.host = host
        self.port = port
        self.metrics = metrics
        self.readiness = readiness
        self.logger = logger
        self.onListening = onListening
    }

    public func run() async throws {
        let router = Router(context: BasicRequestContext.self)
        router.get("/healthz") { _, _ in
            Self.json(.ok, ["status": "ok"])
        }
        router.get("/readyz") { [readiness] _, _ in
            let problems = await readiness()
            return problems.isEmpty
                ? Self.json(.ok, ["status": "ready"])
                : Self.json(.serviceUnavailable, ["status": "not ready", "reasons": problems])
        }
        router.get("/metrics") { [metrics] _, _ in
            Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(bytes: metrics())))
        }
        let (host, logger, onListening) = (host, logger, onListening)
        let application = Application(
            router: router,
            configuration: .init(address: .hostname(host, port: port), serverName: "tributary"),
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? 0
                logger.info("operations endpoints listening", metadata: ["address": "http://\(host):\(port)"])
                await onListening(port)
            },
            logger: logger)
        do {
            try await application.run()
        } catch let error as IOError where error.errnoCode == EADDRINUSE {
            throw GatewayError.portInUse("operations endpoints", host: host, port: port, setting: "operations.port")
        }
    }

    private static func json(_ status: HTTPResponse.Status, _ object: [String: Any]) -> Response {
        RESTRoutes.json(status, object)
    }
}
