import Metrics
import Prometheus

/// The process's metrics backend: swift-metrics into a Prometheus registry, which the gateway
/// serves at `/metrics`. Bootstrapped once, by the command that runs roles.
enum Observability {
    static let registry = PrometheusCollectorRegistry()

    static func bootstrap() {
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
    }

    /// The registry in the Prometheus text format.
    @Sendable static func render() -> [UInt8] {
        registry.emitToBuffer()
    }
}
