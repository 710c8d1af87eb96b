import Foundation
import Logging
import Metrics
import Synchronization
import WSClient

/// Says when the chain may have a new head: a `newHeads` subscription over WebSocket when one is
/// configured, and polling always — every `pollInterval` while the socket is absent or down,
/// 5× slower as a safety net while it is up. A dropped socket is reconnected with backoff.
///
/// Notifications are only wake-ups: the adapter fetches what it needs itself, so a lost or
/// duplicated notification can delay but never change what it produces.
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

    /// Wake-ups until the task is cancelled; the first comes at once.
    func wakeUps() -> AsyncStream<Void> {
        let (stream, continuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        continuation.yield()
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

    private func poll(_ continuation: AsyncStream<Void>.Continuation) async {
        while !Task.isCancelled {
            let interval = isSubscribed ? pollInterval * 5 : pollInterval
            guard (try? await Task.sleep(for: interval)) != nil else { return }
            continuation.yield()
        }
    }

    private func subscribe(url: String, _ continuation: AsyncStream<Void>.Continuation) async {
        var backoff = Duration.milliseconds(250)
        while !Task.isCancelled {
            do {
                try await WebSocketClient.connect(url: url, logger: logger) { inbound, outbound, _ in
                    try await outbound.write(
                        .text(#"{"jsonrpc":"2.0","id":1,"method":"eth_subscribe","params":["newHeads"]}"#))
                    for try await message in inbound.messages(maxSize: 1 << 20) {
                        guard case .text(let text) = message else { continue }
                        if text.contains("\"eth_subscription\"") {
                            continuation.yield()
                        } else if text.contains("\"error\"") {
                            self.logger.warning(
                                "newHeads subscription refused; polling instead",
                                metadata: ["answer": "\(text.prefix(200))"])
                            return
                        } else if !self.isSubscribed {
                            self.markSubscribed(true)
                            continuation.yield()  // catch up on anything missed while down
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

    private func markSubscribed(_ up: Bool) {
        socketUp.store(up, ordering: .relaxed)
        connectedGauge.record(up ? 1 : 0)
    }
}
