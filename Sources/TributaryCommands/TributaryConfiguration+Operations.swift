/// Where a process that runs roles serves `/healthz`, `/readyz` and `/metrics` (docs/operations.md).
struct OperationsConfiguration: Sendable {
    /// Address the operations endpoints listen on. Default: `127.0.0.1` (set `0.0.0.0` in a
    /// container so the orchestrator and Prometheus reach it).
    var host = "127.0.0.1"
    /// Port; 0 picks a free one. Default: 9464.
    var port = 9464
}

extension TributaryConfiguration {
    /// `operations.*`: health, readiness and metrics of `tributary run` processes.
    static let operationsKeys: [ConfigurationKey] = [
        ConfigurationKey(
            name: "operations.host", summary: "address of /healthz, /readyz and /metrics (default: 127.0.0.1)"
        ) {
            guard !$1.isEmpty else { throw ConfigurationValueProblem(reason: "expected a host name or address") }
            $0.operations.host = $1
        },
        ConfigurationKey(
            name: "operations.port",
            summary: "port of /healthz, /readyz and /metrics for tributary run; 0 picks a free one (default: 9464)"
        ) {
            $0.operations.port = try parseInteger($1, in: 0...65_535)
        },
    ]
}
