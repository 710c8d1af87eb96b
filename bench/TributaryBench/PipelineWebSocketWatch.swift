import Foundation
import HTTPTypes
import Logging
import Synchronization
import WSClient

/// The two ends of the pipeline as a client sees them, for `pipeline --paced`: when the devnet
/// announces each block over `newHeads` (the moment the adapter hears of it) and when each result
/// arrives on a gateway WebSocket subscribed to `results`. Times in milliseconds since 1970.
final class PipelineWebSocketWatch: Sendable {
    private struct State {
        var heads: [String: Int64] = [:]
        var arrivals: [(text: String, at: Int64)] = []
        var headsSubscribed = false
        var resultsSubscribed = false
    }
    private let state = Mutex(State())
    private let tasks = Mutex<[Task<Void, Never>]>([])

    /// Block hash (lowercased) → when `newHeads` announced it.
    var heads: [String: Int64] { state.withLock { $0.heads } }
    /// Event id → when its first result arrived on the WebSocket.
    var results: [String: Int64] {
        var results: [String: Int64] = [:]
        for (text, arrived) in state.withLock({ $0.arrivals }) {
            guard let object = Self.object(text), object["type"] as? String == "result",
                let result = object["result"] as? [String: Any], let event = result["eventId"] as? String
            else { continue }
            results[event] = results[event] ?? arrived
        }
        return results
    }
    var ready: Bool { state.withLock { $0.headsSubscribed && $0.resultsSubscribed } }

    static func now() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }

    /// Subscribes to `newHeads` at `devnetURL` and to every result at the gateway on `gatewayPort`.
    func start(devnetURL: String, gatewayPort: Int, key: String) {
        var logger = Logger(label: "bench-ws")
        logger.logLevel = .error
        let heads = Task {
            _ = try? await WebSocketClient.connect(url: devnetURL, logger: logger) { inbound, outbound, _ in
                try await outbound.write(
                    .text(#"{"jsonrpc":"2.0","id":1,"method":"eth_subscribe","params":["newHeads"]}"#))
                for try await message in inbound.messages(maxSize: 1 << 22) {
                    guard case .text(let text) = message else { continue }
                    let now = Self.now()
                    guard let object = Self.object(text) else { continue }
                    if object["id"] != nil { self.state.withLock { $0.headsSubscribed = true } }
                    if let params = object["params"] as? [String: Any],
                        let block = params["result"] as? [String: Any], let hash = block["hash"] as? String
                    {
                        self.state.withLock { $0.heads[hash.lowercased()] = $0.heads[hash.lowercased()] ?? now }
                    }
                }
            }
        }
        var headers = HTTPFields()
        headers[.authorization] = "Bearer \(key)"
        let results = Task {
            _ = try? await WebSocketClient.connect(
                url: "ws://127.0.0.1:\(gatewayPort)/v1/stream",
                configuration: .init(maxFrameSize: 1 << 22, additionalHeaders: headers), logger: logger
            ) { inbound, outbound, _ in
                try await outbound.write(.text(#"{"op":"subscribe","id":"r","stream":"results","from":"latest"}"#))
                for try await message in inbound.messages(maxSize: 1 << 22) {
                    guard case .text(let text) = message else { continue }
                    let now = Self.now()
                    if !self.state.withLock({ $0.resultsSubscribed }) {
                        if Self.object(text)?["type"] as? String == "subscribed" {
                            self.state.withLock { $0.resultsSubscribed = true }
                        }
                        continue
                    }
                    // Parsed after the run: parsing here would delay the arrival times of the
                    // messages behind it, which is the client's cost, not the pipeline's.
                    self.state.withLock { $0.arrivals.append((text, now)) }
                }
            }
        }
        tasks.withLock { $0 = [heads, results] }
    }

    func stop() {
        for task in tasks.withLock({ $0 }) { task.cancel() }
    }

    private static func object(_ text: String) -> [String: Any]? {
        (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any]
    }
}
