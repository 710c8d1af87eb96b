import EventLog
import Foundation
import Logging
import Metrics
import Synchronization
import TributaryModel

/// The JSON messages of the stream protocol (docs/api.md), each built as bytes with the
/// payload — serialized once per record — spliced in.
enum StreamMessages {
    static func item(
        _ stream: StreamSubscription.Stream, subscription: String, cursor: [UInt8], payload: [UInt8]
    )
        -> [UInt8]
    {
        let type = stream == .events ? "event" : "result"
        var bytes = Array("{\"type\":\"\(type)\",\"subscription\":".utf8)
        bytes.reserveCapacity(payload.count + 160)
        JSONText.appendString(subscription, to: &bytes)
        bytes += Array(",\"cursor\":\"".utf8)
        bytes += cursor
        bytes += Array("\",\"\(type)\":".utf8)
        bytes += payload
        bytes.append(UInt8(ascii: "}"))
        return bytes
    }

    static func subscribed(_ subscription: String, cursor: String) -> [UInt8] {
        object(["type": "subscribed", "subscription": subscription, "cursor": cursor])
    }

    static func unsubscribed(_ subscription: String) -> [UInt8] {
        object(["type": "unsubscribed", "subscription": subscription])
    }

    static func dropped(subscription: String, count: Int, cursor: String) -> [UInt8] {
        object(["type": "dropped", "subscription": subscription, "count": count, "cursor": cursor])
    }

    static func heartbeat() -> [UInt8] {
        object(["type": "heartbeat", "time": Date().formatted(.iso8601)])
    }

    static func pong() -> [UInt8] { object(["type": "pong"]) }

    static func error(_ error: GatewayError, subscription: String? = nil) -> [UInt8] {
        var fields: [String: Any] = ["type": "error", "code": error.code.description, "message": error.message]
        if let subscription { fields["subscription"] = subscription }
        return object(fields)
    }

    static func object(_ fields: [String: Any]) -> [UInt8] {
        Array(
            (try? JSONSerialization.data(withJSONObject: fields, options: [.sortedKeys, .withoutEscapingSlashes]))
                ?? Data())
    }
}

/// One WebSocket connection's subscriptions: handles `subscribe`, `unsubscribe` and `ping`
/// messages and runs a pump per subscription into the connection's queue.
final class StreamSession: Sendable {
    private let log: any EventLog
    private let principal: Principal
    private let queue: OutboundQueue
    private let configuration: GatewayConfiguration
    private let fanout: Fanout
    private struct Running: Sendable {
        let task: Task<Void, Never>
        let subscriber: Subscriber
        let token: UUID
    }

    /// Subscriptions being served, by id. Client messages are handled one at a time.
    private let pumps = Mutex<[String: Running]>([:])

    init(
        log: any EventLog, fanout: Fanout, principal: Principal, queue: OutboundQueue,
        configuration: GatewayConfiguration
    ) {
        self.log = log
        self.fanout = fanout
        self.principal = principal
        self.queue = queue
        self.configuration = configuration
    }

    /// Handles one client message; problems are answered with an `error` message, never by
    /// closing the connection.
    func handle(_ bytes: [UInt8]) async {
        let id: String?
        do {
            guard let fields = try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any] else {
                throw GatewayError(.badRequest, .invalidJSON, "expected a JSON object such as {\"op\":\"subscribe\",…}")
            }
            id = fields["id"] as? String
            switch fields["op"] as? String {
            case "subscribe":
                try await subscribe(id: id ?? "", fields: fields)
            case "unsubscribe":
                let running = pumps.withLock { $0.removeValue(forKey: id ?? "") }
                guard let running else { throw GatewayError.notFound("no subscription '\(id ?? "")'") }
                // Closed first: nothing of it is queued after `unsubscribed`. A WebSocket's live
                // messages are queued on its event loop (`LoopFeed`), so the answer is queued there
                // too, after any pass that saw the subscription open.
                running.subscriber.close()
                running.task.cancel()
                let answer = StreamMessages.unsubscribed(id ?? "")
                if let loop = queue.drainLoop {
                    try? await loop.submit { [queue] in _ = queue.pushControl(answer) }.get()
                } else {
                    queue.pushControl(answer)
                }
            case "ping":
                queue.pushControl(StreamMessages.pong())
            case let other:
                throw GatewayError.badRequest(
                    "op: \(other.map { "'\($0)' is not an operation" } ?? "missing"); expected subscribe, unsubscribe or ping"
                )
            }
        } catch let error as GatewayError {
            queue.pushControl(
                StreamMessages.error(
                    error,
                    subscription: (try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any])?["id"]
                        as? String))
        } catch {
            queue.pushControl(
                StreamMessages.error(
                    GatewayError(.serviceUnavailable, .unavailable, "the log is not available; try again")))
        }
    }

    private func subscribe(id: String, fields: [String: Any]) async throws {
        let subscription = try StreamSubscription(id: id, fields: fields)
        guard principal.has(subscription.stream.scope) else {
            throw GatewayError(
                .forbidden, .forbidden, "key \(principal.id) lacks the scope '\(subscription.stream.scope.rawValue)'")
        }
        let count = pumps.withLock { $0.count }
        guard pumps.withLock({ $0[id] == nil }) else {
            throw GatewayError.badRequest("subscription '\(id)' already exists")
        }
        guard count < configuration.subscriptionsPerConnection else {
            throw GatewayError.badRequest(
                "at most \(configuration.subscriptionsPerConnection) subscriptions per connection; unsubscribe one first"
            )
        }
        let cursor = try await fanout.startCursor(subscription.start, stream: subscription.stream)
        queue.pushControl(StreamMessages.subscribed(id, cursor: cursor.text))
        let subscriber = Subscriber(subscription: subscription, queue: queue, from: cursor)
        let token = UUID()
        // Registered before the task starts, so its own removal below always finds it.
        let task = pumps.withLock { pumps in
            let task = Task { [queue, fanout] in
                do {
                    try await fanout.serve(subscriber)
                } catch {
                    queue.pushControl(
                        StreamMessages.error(
                            GatewayError(
                                .serviceUnavailable, .unavailable,
                                "reading the log failed; resubscribe from your last cursor"),
                            subscription: id))
                }
                // Ended (failed, or its queue closed): the id is free again.
                self.pumps.withLock { pumps in
                    if pumps[id]?.token == token { pumps.removeValue(forKey: id) }
                }
            }
            pumps[id] = Running(task: task, subscriber: subscriber, token: token)
            return task
        }
        _ = task
    }

    func stop() {
        for running in pumps.withLock({ $0.values }) {
            running.subscriber.close()
            running.task.cancel()
        }
    }
}
