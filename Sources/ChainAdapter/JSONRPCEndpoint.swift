/// One JSON-RPC endpoint of a chain.
public struct JSONRPCEndpoint: Sendable, Hashable {
    /// `http(s)://…` URL of the node or provider. Never logged with its path or query, which
    /// often carry an API key.
    public var url: String
    /// Relative share of requests among healthy endpoints. Default: 1.
    public var weight: Double
    /// Client-side request-rate limit; `nil` for none. Default: `nil`.
    public var requestsPerSecond: Double?

    /// Creates an endpoint.
    public init(url: String, weight: Double = 1, requestsPerSecond: Double? = nil) {
        self.url = url
        self.weight = weight
        self.requestsPerSecond = requestsPerSecond
    }

    /// The URL without path, query or credentials, safe for logs and metrics.
    public var redacted: String {
        guard let schemeEnd = url.range(of: "://") else { return "<endpoint>" }
        let rest = url[schemeEnd.upperBound...]
        let hostPart = rest.split(separator: "/", maxSplits: 1).first.map(String.init) ?? ""
        let host = hostPart.split(separator: "@").last.map(String.init) ?? hostPart
        return String(url[..<schemeEnd.upperBound]) + host
    }
}
