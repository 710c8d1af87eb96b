import ChainAdapter
import Foundation

/// The `chains.<name>.<field>` keys: one chain adapter per name.
///
/// ```yaml
/// chains:
///   mainnet:
///     chainId: 1
///     rpc: [https://eth.example/KEY, "https://backup.example weight=0.5 rps=10"]
///     ws: wss://eth.example/KEY
///     start: 19000000        # or latest (the default)
///     confirmations: 12
/// ```
extension TributaryConfiguration {
    /// The fields of one chain, as `chains.<name>.<field>`.
    static let chainFields:
        [(field: String, summary: String, apply: @Sendable (inout ChainAdapterConfiguration, String) throws -> Void)] =
            [
                (
                    "chainId", "the chain id eth_chainId must answer (required)",
                    { $0.chainID = UInt64(try parseInteger($1, in: 1...Int.max)) }
                ),
                (
                    "rpc",
                    "JSON-RPC URLs (required), each optionally followed by ' weight=W' and ' rps=R' (client-side rate limit)",
                    { $0.endpoints = try $1.split(separator: ",").map { try parseEndpoint(String($0)) } }
                ),
                (
                    "ws", "ws:// or wss:// URL for newHeads (default: none, poll)",
                    {
                        guard $1.hasPrefix("ws://") || $1.hasPrefix("wss://") else {
                            throw ConfigurationValueProblem(reason: "expected a ws:// or wss:// URL")
                        }
                        $0.webSocketURL = $1
                    }
                ),
                (
                    "start", "first block without history in raw-events: a number or latest (default: latest)",
                    {
                        if $1.lowercased() == "latest" {
                            $0.start = .latest
                        } else {
                            $0.start = .number(UInt64(try parseInteger($1, in: 0...Int.max)))
                        }
                    }
                ),
                (
                    "confirmations", "blocks (itself included) until an event is confirmed (default: 12)",
                    { $0.confirmations = UInt64(try parseInteger($1, in: 1...10_000)) }
                ),
                (
                    "reorgWindow", "recent blocks kept to answer reorgs; deeper ones stop the adapter (default: 128)",
                    { $0.reorgWindow = try parseInteger($1, in: 2...100_000) }
                ),
                (
                    "pollInterval", "head polling interval without a WebSocket (default: 2s)",
                    { $0.pollInterval = try parseDuration($1) }
                ),
                (
                    "requestTimeout", "per JSON-RPC request (default: 10s)",
                    { $0.requestTimeout = try parseDuration($1) }
                ),
                (
                    "backfill.range", "first eth_getLogs range, in blocks (default: 500)",
                    { $0.backfill.initialRange = UInt64(try parseInteger($1, in: 1...1_000_000)) }
                ),
                (
                    "backfill.maxRange", "largest eth_getLogs range (default: 10000)",
                    { $0.backfill.maximumRange = UInt64(try parseInteger($1, in: 1...10_000_000)) }
                ),
                (
                    "backfill.parallel", "eth_getLogs requests in flight (default: 4)",
                    { $0.backfill.maximumInFlight = try parseInteger($1, in: 1...64) }
                ),
            ]

    /// Applies `chains.<name>.<field>`; `false` when `key` is not a chain key.
    ///
    /// - Throws: ``ConfigurationValueProblem`` for a bad value or an unknown field.
    static func applyChainKey(
        _ key: String, _ value: String, to configuration: inout TributaryConfiguration
    )
        throws -> Bool
    {
        let parts = key.split(separator: ".", maxSplits: 2).map(String.init)
        guard parts.count == 3, parts[0] == "chains" else { return false }
        let name = parts[1]
        guard name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }) else {
            throw ConfigurationValueProblem(reason: "chain names use letters, digits, '-' and '_'")
        }
        guard let field = chainFields.first(where: { $0.field == parts[2] }) else {
            throw ConfigurationValueProblem(
                reason: "unknown chain field '\(parts[2])'; known: \(chainFields.map(\.field).joined(separator: ", "))")
        }
        var chain = configuration.chains[name] ?? ChainAdapterConfiguration(name: name, chainID: 0, endpoints: [])
        try field.apply(&chain, value)
        configuration.chains[name] = chain
        return true
    }

    /// Checks that every chain has what it needs.
    ///
    /// - Throws: ``CommandError`` naming the chain and the missing key.
    func validateChains() throws {
        for (name, chain) in chains.sorted(by: { $0.key < $1.key }) {
            if chain.chainID == 0 {
                throw CommandError(.invalidConfiguration, "chains.\(name).chainId is required (eth_chainId's answer)")
            }
            if chain.endpoints.isEmpty {
                throw CommandError(.invalidConfiguration, "chains.\(name).rpc is required (one or more JSON-RPC URLs)")
            }
        }
    }
}

/// `URL [weight=W] [rps=R]`.
private func parseEndpoint(_ text: String) throws -> JSONRPCEndpoint {
    let words = text.split(separator: " ").map(String.init)
    guard let url = words.first, url.hasPrefix("http://") || url.hasPrefix("https://") else {
        throw ConfigurationValueProblem(reason: "expected an http:// or https:// URL")
    }
    var endpoint = JSONRPCEndpoint(url: url)
    for word in words.dropFirst() {
        let pair = word.split(separator: "=", maxSplits: 1).map(String.init)
        guard pair.count == 2, let number = Double(pair[1]), number > 0 else {
            throw ConfigurationValueProblem(reason: "expected weight=W or rps=R after the URL, got '\(word)'")
        }
        switch pair[0] {
        case "weight": endpoint.weight = number
        case "rps": endpoint.requestsPerSecond = number
        default: throw ConfigurationValueProblem(reason: "expected weight=W or rps=R after the URL, got '\(word)'")
        }
    }
    return endpoint
}
