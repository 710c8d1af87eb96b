import EVM
import Foundation
import Logging
import Metrics
import Synchronization
import WSClient

/// Says when the chain may have a new head: a `newHeads` subscription over WebSocket when one is
/// configured, and polling always — every `pollInterval` while the socket is absent or down,
/// 5× slower as a safety net while it is up. A dropped socket is reconnected with backoff.
///
/// Notifications are wake-ups that name the announced block: the adapter fetches what it needs
/// itself (that block and its logs, in one request, when it is the next one and the HTTP
/// endpoint holds it at that height), so a lost, duplicated or wrong notification can delay but
/// never change what it produces.
final class HeadWatcher: Sendable {
    private let webSocketURL: String?
    private let pollInterval: Duration
    private let logger: Logger
    private let socketUp = Atomic(false)
    private let connectedGauge: Gauge

    init(webSocketURL: String?, pollInterval: Duration, chain: String, logger: Logger) {
        self.webSocketURL = webSocketURL
        self.pollInterval = pollInterval
        self.logger = logger
        self.connectedGauge = Gauge(label: "tributary_adapter_websocket_connected", dimensions: [("chain", chain)])
    }

    /// Whether the `newHeads` subscription is live.
    var isSubscribed: Bool { socketUp.load(ordering: .relaxed) }

    /// A block a `newHeads` notification announced.
    struct Announcement: Sendable, Equatable {
        var number: UInt64
        /// Lowercased.
        var hash: String
    }

    /// Wake-ups until the task is cancelled, each with the block a notification announced
    /// (`nil` for a poll); the first comes at once.
    func wakeUps() -> AsyncStream<Announcement?> {
        let (stream, continuation) = AsyncStream.makeStream(
            of: Announcement?.self, bufferingPolicy: .bufferingNewest(1))
        continuation.yield(nil)
        let task = Task {
            await withDiscardingTaskGroup { group in
                group.addTask { await self.poll(continuation) }
                if let url = self.webSocketURL {
                    group.addTask { await self.subscribe(url: url, continuation) }
                }
            }
        }
        continuation.onTermination = { _ in task.cancel() }
        return stream
    }

    private func poll(_ continuation: AsyncStream<Announcement?>.Continuation) async {
        while !Task.isCancelled {
            let interval = isSubscribed ? pollInterval * 5 : pollInterval
            guard (try? await Task.sleep(for: interval)) != nil else { return }
            continuation.yield(nil)
        }
    }

    private func subscribe(url: String, _ continuation: AsyncStream<Announcement?>.Continuation) async {
        var backoff = Duration.milliseconds(250)
        while !Task.isCancelled {
            do {
                try await WebSocketClient.connect(url: url, logger: logger) { inbound, outbound, _ in
                    try await outbound.write(
                        .text(#"{"jsonrpc":"2.0","id":1,"method":"eth_subscribe","params":["newHeads"]}"#))
                    for try await message in inbound.messages(maxSize: 1 << 20) {
                        guard case .text(let text) = message else { continue }
                        if text.contains("\"eth_subscription\"") {
                            continuation.yield(Self.announcement(text))
                        } else if text.contains("\"error\"") {
                            self.logger.warning(
                                "newHeads subscription refused; polling instead",
                                metadata: ["answer": "\(text.prefix(200))"])
                            return
                        } else if !self.isSubscribed {
                            self.markSubscribed(true)
                            continuation.yield(nil)  // catch up on anything missed while down
                        }
                    }
                }
            } catch {
                logger.debug("newHeads socket failed", metadata: ["reason": "\(error)"])
            }
            if Task.isCancelled { return }
            if isSubscribed {
                backoff = .milliseconds(250)
                logger.info("newHeads socket dropped; polling every \(pollInterval) until it is back")
            }
            markSubscribed(false)
            guard (try? await Task.sleep(for: backoff)) != nil else { return }
            backoff = min(backoff * 2, .seconds(30))
        }
    }

    /// The block a `newHeads` notification announces, if it names one well-formed.
    static func announcement(_ text: String) -> Announcement? {
        guard let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any],
            let params = object["params"] as? [String: Any], let block = params["result"] as? [String: Any],
            let hash = block["hash"] as? String, hash.utf8.count == 66, hash.hasPrefix("0x"),
            let numberText = block["number"] as? String, let number = try? RPCDecoding.quantity(numberText, "number")
        else { return nil }
        return Announcement(number: number, hash: hash.lowercased())
    }

    private func markSubscribed(_ up: Bool) {
        socketUp.store(up, ordering: .relaxed)
        connectedGauge.record(up ? 1 : 0)
    }
}
