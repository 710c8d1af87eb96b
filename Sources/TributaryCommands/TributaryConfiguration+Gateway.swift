import ArgumentParser
import Gateway

extension TributaryConfiguration {
    /// `gateway.*`: the API gateway (docs/api.md).
    static let gatewayKeys: [ConfigurationKey] = [
        ConfigurationKey(name: "gateway.host", summary: "address the gateway listens on (default: 127.0.0.1)") {
            guard !$1.isEmpty else { throw ConfigurationValueProblem(reason: "expected a host name or address") }
            $0.gateway.host = $1
        },
        ConfigurationKey(name: "gateway.port", summary: "port of the gateway; 0 picks a free one (default: 8080)") {
            $0.gateway.port = try parseInteger($1, in: 0...65_535)
        },
        ConfigurationKey(
            name: "gateway.allowedOrigins",
            summary: "origins browsers may use the gateway from, comma-separated, or * for any (default: none)"
        ) {
            let origins = $1.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter {
                !$0.isEmpty
            }
            for origin in origins where origin != "*" {
                guard origin == "null" || origin.hasPrefix("http://") || origin.hasPrefix("https://") else {
                    throw ConfigurationValueProblem(
                        reason:
                            "'\(origin)' is not an origin; expected scheme://host[:port] such as https://app.example.com"
                    )
                }
            }
            $0.gateway.allowedOrigins = origins
        },
        ConfigurationKey(
            name: "gateway.adminKey",
            summary: "bootstrap admin API key, at least 24 characters (default: none; tributary dev makes one)"
        ) {
            guard $1.count >= 24 else {
                throw ConfigurationValueProblem(reason: "expected at least 24 characters (it grants every scope)")
            }
            $0.gateway.adminKey = $1
        },
        ConfigurationKey(name: "gateway.maxBodyBytes", summary: "largest request body (default: 16777216)") {
            $0.gateway.maxBodyBytes = try parseInteger($1, in: 1_024...(1 << 30))
        },
        ConfigurationKey(
            name: "gateway.maxMessageBytes", summary: "largest WebSocket message from a client (default: 65536)"
        ) {
            $0.gateway.maxMessageBytes = try parseInteger($1, in: 256...(16 << 20))
        },
        ConfigurationKey(
            name: "gateway.requestsPerSecond", summary: "sustained requests per second per key (default: 50)"
        ) {
            $0.gateway.requestsPerSecond = Double(try parseInteger($1, in: 1...1_000_000))
        },
        ConfigurationKey(name: "gateway.requestBurst", summary: "requests per key in a burst (default: 100)") {
            $0.gateway.requestBurst = try parseInteger($1, in: 1...1_000_000)
        },
        ConfigurationKey(name: "gateway.connectionsPerKey", summary: "open streams per key (default: 64)") {
            $0.gateway.connectionsPerKey = try parseInteger($1, in: 1...1_000_000)
        },
        ConfigurationKey(
            name: "gateway.slowConsumer",
            summary: "close | drop-oldest: what happens to a client that lags (default: close)"
        ) {
            guard let action = GatewayConfiguration.SlowConsumerAction(rawValue: $1) else {
                throw ConfigurationValueProblem(reason: "expected close or drop-oldest, got '\($1)'")
            }
            $0.gateway.slowConsumerAction = action
        },
        ConfigurationKey(
            name: "gateway.maxQueuedMessages",
            summary: "messages queued per client before the slow-consumer action (default: 4096)"
        ) {
            $0.gateway.maxQueuedMessages = try parseInteger($1, in: 1...10_000_000)
        },
        ConfigurationKey(
            name: "gateway.maxQueuedAge",
            summary: "age of a client's oldest queued message before the slow-consumer action (default: 10s)"
        ) {
            $0.gateway.maxQueuedAge = try parseDuration($1)
        },
    ]
}

/// Options of commands that run the gateway.
struct GatewayOptions: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp(
            "Origins browsers may use the gateway from (comma-separated; * for any). Default: none.",
            valueName: "origins"))
    var allowedOrigins: String?

    func flagValues() -> [(key: String, value: String, flag: String)] {
        allowedOrigins.map { [("gateway.allowedOrigins", $0, "--allowed-origins")] } ?? []
    }
}
