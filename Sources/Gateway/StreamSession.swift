import EventLog
import Foundation
import Logging
import Metrics
import Synchronization
import TributaryModel

/// The messages waiting for one client, bounded by count and age. Pumps (one per subscription)
/// push; the connection's writer takes batches. When the client falls behind by more than the
/// configured count or age, the slow-consumer action applies: drop the oldest messages (the
/// client is told how many, with a cursor to fetch them again) or close the connection.
final class OutboundQueue: Sendable {
    struct Message: Sendable {
        let bytes: [UInt8]
        let queuedAt: ContinuousClock.Instant
        /// The subscription it belongs to and the cursor that gets it again, for drop notices.
        let subscription: String
        let cursorBefore: String
    }

    enum Next: Sendable {
        case messages([[UInt8]])
        /// The client is too slow and the action is `close`.
        case overflowed
        case closed
    }

    private struct State {
        var messages: [Message] = []
        var head = 0
        var waiter: CheckedContinuation<Void, Never>?
        /// Catch-up readers waiting for room.
        var roomWaiters: [CheckedContinuation<Void, Never>] = []
        var closed = false
        var overflowed = false
        /// Dropped messages per subscription, with the cursor before the first one dropped.
        var dropped: [String: (count: Int, cursor: String)] = [:]

        var count: Int { messages.count - head }
    }

    private let state = Mutex(State())
    private let capacity: Int
    private let maxAge: Duration
    private let action: GatewayConfiguration.SlowConsumerAction
    private let drops = Counter(label: "tributary_gateway_dropped_messages_total")
    private let slowCloses = Counter(label: "tributary_gateway_slow_consumer_closes_total")

    init(capacity: Int, maxAge: Duration, action: GatewayConfiguration.SlowConsumerAction) {
        self.capacity = max(1, capacity)
        self.maxAge = maxAge
        self.action = action
    }

    /// Queues `bytes` for subscription `subscription`; `cursorBefore` is where a client would
    /// resume to get this message again if it is dropped. Returns false once the queue is closed.
    @discardableResult
    func push(_ bytes: [UInt8], subscription: String = "", cursorBefore: String = "") -> Bool {
        push(bytes, subscription: subscription, cursorBefore: cursorBefore, enforcingLimits: true)
    }

    private func push(_ bytes: [UInt8], subscription: String, cursorBefore: String, enforcingLimits: Bool) -> Bool {
        let now = ContinuousClock.now
        let (waiter, open): (CheckedContinuation<Void, Never>?, Bool) = state.withLock { state in
            guard !state.closed else { return (nil, false) }
            let tooOld = state.count > 0 && now - state.messages[state.head].queuedAt > maxAge
            if enforcingLimits, state.count >= capacity || tooOld {
                switch action {
                case .close:
                    state.overflowed = true
                    state.closed = true
                    slowCloses.increment()
                    let waiter = state.waiter
                    state.waiter = nil
                    // Catch-up readers waiting for room stop too (they see the queue closed).
                    let waiting = state.roomWaiters
                    state.roomWaiters = []
                    waiting.forEach { $0.resume() }
                    return (waiter, false)
                case .dropOldest:
                    while state.count >= capacity
                        || (state.count > 0 && now - state.messages[state.head].queuedAt > maxAge)
                    {
                        let dropped = state.messages[state.head]
                        state.head += 1
                        drops.increment()
                        // The first drop's cursor: resuming there gets every dropped message again.
                        guard !dropped.subscription.isEmpty else { continue }  // a heartbeat
                        var entry = state.dropped[dropped.subscription] ?? (0, dropped.cursorBefore)
                        entry.count += 1
                        state.dropped[dropped.subscription] = entry
                    }
                }
            }
            state.messages.append(
                Message(bytes: bytes, queuedAt: now, subscription: subscription, cursorBefore: cursorBefore))
            let waiter = state.waiter
            state.waiter = nil
            return (waiter, true)
        }
        waiter?.resume()
        return open
    }

    /// Queues `bytes` once the queue has room (for catch-up readers: history is read at the
    /// client's pace). Returns false once the queue is closed.
    func pushWhenRoom(_ bytes: [UInt8], subscription: String, cursorBefore: String) async -> Bool {
        while true {
            let full: Bool? = state.withLock { state in
                if state.closed { return nil }
                return state.count >= capacity
            }
            guard let full else { return false }
            if !full {
                return push(bytes, subscription: subscription, cursorBefore: cursorBefore, enforcingLimits: false)
            }
            await withTaskCancellationHandler {
                await withCheckedContinuation { continuation in
                    let wait = state.withLock { state in
                        guard !state.closed, state.count >= capacity else { return false }
                        state.roomWaiters.append(continuation)
                        return true
                    }
                    if !wait { continuation.resume() }
                }
            } onCancel: {
                close()
            }
        }
    }

    /// Queues a heartbeat unless messages are waiting anyway (they show the connection is alive,
    /// and a heartbeat must never be what makes a busy client look slow).
    func pushHeartbeat() {
        let idle = state.withLock { $0.count == 0 }
        if idle { push(StreamMessages.heartbeat()) }
    }

    /// Waits for messages and takes up to `limit` of them (drop notices first).
    func next(limit: Int) async -> Next {
        while true {
            let taken: Next? = state.withLock { state in
                if state.overflowed { return .overflowed }
                var batch: [[UInt8]] = state.dropped.sorted { $0.key < $1.key }.map { subscription, entry in
                    StreamMessages.dropped(subscription: subscription, count: entry.count, cursor: entry.cursor)
                }
                state.dropped = [:]
                let end = min(state.messages.count, state.head + max(0, limit - batch.count))
                batch += state.messages[state.head..<end].map(\.bytes)
                state.head = end
                // Taken messages are released at once: a client's queue holds only what waits.
                if state.head == state.messages.count {
                    state.messages.removeAll(keepingCapacity: state.messages.capacity <= 1_024)
                    state.head = 0
                } else if state.head > 256, state.head * 2 > state.messages.count {
                    state.messages.removeFirst(state.head)
                    state.head = 0
                }
                if !batch.isEmpty { return .messages(batch) }
                if state.closed { return .closed }
                return nil
            }
            if let taken {
                let waiting = state.withLock { state in
                    defer { state.roomWaiters = [] }
                    return state.roomWaiters
                }
                waiting.forEach { $0.resume() }
                return taken
            }
            await withTaskCancellationHandler {
                await withCheckedContinuation { continuation in
                    let ready = state.withLock { state in
                        if state.count > 0 || state.closed || !state.dropped.isEmpty { return true }
                        state.waiter = continuation
                        return false
                    }
                    if ready { continuation.resume() }
                }
            } onCancel: {
                close()
            }
        }
    }

    /// Closes the queue: the writer ends after what is queued, pushes fail, catch-up readers stop.
    func close() {
        let (waiter, waiting) = state.withLock { state in
            state.closed = true
            let waiter = state.waiter
            state.waiter = nil
            defer { state.roomWaiters = [] }
            return (waiter, state.roomWaiters)
        }
        waiter?.resume()
        waiting.forEach { $0.resume() }
    }
}

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
    private let pumps = Mutex<[String: Task<Void, Never>]>([:])

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
                let task = pumps.withLock { $0.removeValue(forKey: id ?? "") }
                guard let task else { throw GatewayError.notFound("no subscription '\(id ?? "")'") }
                task.cancel()
                queue.push(StreamMessages.unsubscribed(id ?? ""))
            case "ping":
                queue.push(StreamMessages.pong())
            case let other:
                throw GatewayError.badRequest(
                    "op: \(other.map { "'\($0)' is not an operation" } ?? "missing"); expected subscribe, unsubscribe or ping"
                )
            }
        } catch let error as GatewayError {
            queue.push(
                StreamMessages.error(
                    error,
                    subscription: (try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any])?["id"]
                        as? String))
        } catch {
            queue.push(
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
        queue.push(StreamMessages.subscribed(id, cursor: cursor.text))
        let subscriber = Subscriber(subscription: subscription, queue: queue, from: cursor)
        let task = Task { [queue, fanout] in
            do {
                try await fanout.serve(subscriber)
            } catch {
                queue.push(
                    StreamMessages.error(
                        GatewayError(
                            .serviceUnavailable, .unavailable,
                            "reading the log failed; resubscribe from your last cursor"),
                        subscription: id))
            }
        }
        pumps.withLock { $0[id] = task }
    }

    func stop() {
        for task in pumps.withLock({ $0.values }) { task.cancel() }
    }
}
