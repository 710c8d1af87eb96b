import EventLog
import Foundation
import Logging
import Metrics
import Synchronization
import TributaryModel

/// The messages waiting for one client. Live messages (from the shared tail) are bounded by
/// count and age: past either, the slow-consumer action applies — drop the oldest live messages
/// (the client is told how many, with a cursor to fetch them again) or close the connection.
/// Replayed history is paced instead (its reader waits for room), and control messages
/// (`subscribed`, `pong`, `error`, heartbeats) never count and are never dropped.
final class OutboundQueue: Sendable {
    struct Message: Sendable {
        let bytes: [UInt8]
        let queuedAt: ContinuousClock.Instant
        /// Whether the slow-consumer limits apply to it (a live message).
        let live: Bool
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
        var live = 0
        var waiter: CheckedContinuation<Void, Never>?
        /// Catch-up readers waiting for room.
        var roomWaiters: [CheckedContinuation<Void, Never>] = []
        var closed = false
        var overflowed = false
        /// Dropped messages per subscription, with the cursor before the first one dropped.
        var dropped: [String: (count: Int, cursor: String)] = [:]

        var count: Int { messages.count - head }

        /// The oldest queued live message's index.
        var oldestLive: Int? { live == 0 ? nil : messages[head...].firstIndex(where: \.live) }

        mutating func takeWaiters() -> (CheckedContinuation<Void, Never>?, [CheckedContinuation<Void, Never>]) {
            defer {
                waiter = nil
                roomWaiters = []
            }
            return (waiter, roomWaiters)
        }
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

    /// Queues a live message of `subscription`; `cursorBefore` is where a client would resume to
    /// get it again if it is dropped. Returns false once the queue is closed.
    @discardableResult
    func push(_ bytes: [UInt8], subscription: String, cursorBefore: String) -> Bool {
        append(bytes, live: true, subscription: subscription, cursorBefore: cursorBefore)
    }

    /// Queues a control message: never counted against the limits, never dropped.
    @discardableResult
    func pushControl(_ bytes: [UInt8]) -> Bool {
        append(bytes, live: false, subscription: "", cursorBefore: "")
    }

    private func append(_ bytes: [UInt8], live: Bool, subscription: String, cursorBefore: String) -> Bool {
        let now = ContinuousClock.now
        let (waiter, waiting, open) = state.withLock {
            state -> (CheckedContinuation<Void, Never>?, [CheckedContinuation<Void, Never>], Bool) in
            guard !state.closed else { return (nil, [], false) }
            func overLimits() -> Bool {
                guard let oldest = state.oldestLive else { return false }
                return state.live >= capacity || now - state.messages[oldest].queuedAt > maxAge
            }
            if live, overLimits() {
                switch action {
                case .close:
                    state.overflowed = true
                    state.closed = true
                    slowCloses.increment()
                    let (waiter, waiting) = state.takeWaiters()
                    return (waiter, waiting, false)
                case .dropOldest:
                    while overLimits(), let oldest = state.oldestLive {
                        let dropped = state.messages[oldest]
                        if oldest == state.head { state.head += 1 } else { state.messages.remove(at: oldest) }
                        state.live -= 1
                        drops.increment()
                        // The first drop's cursor: resuming there gets every dropped message again.
                        var entry = state.dropped[dropped.subscription] ?? (0, dropped.cursorBefore)
                        entry.count += 1
                        state.dropped[dropped.subscription] = entry
                    }
                }
            }
            state.messages.append(
                Message(bytes: bytes, queuedAt: now, live: live, subscription: subscription, cursorBefore: cursorBefore)
            )
            if live { state.live += 1 }
            let waiter = state.waiter
            state.waiter = nil
            return (waiter, [], true)
        }
        waiter?.resume()
        waiting.forEach { $0.resume() }
        return open
    }

    /// Queues a replayed message once the queue has room: history is read at the client's pace.
    /// Returns false once the queue is closed or the task is cancelled.
    func pushWhenRoom(_ bytes: [UInt8], subscription: String, cursorBefore: String) async -> Bool {
        while !Task.isCancelled {
            let full: Bool? = state.withLock { state in
                if state.closed { return nil }
                return state.count >= capacity
            }
            guard let full else { return false }
            if !full { return append(bytes, live: false, subscription: subscription, cursorBefore: cursorBefore) }
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
                // Only this reader stops (an unsubscribe); the connection goes on.
                wakeRoomWaiters()
            }
        }
        return false
    }

    private func wakeRoomWaiters() {
        let waiting = state.withLock { state in
            defer { state.roomWaiters = [] }
            return state.roomWaiters
        }
        waiting.forEach { $0.resume() }
    }

    /// Queues a heartbeat unless messages are waiting anyway (they show the connection is alive).
    func pushHeartbeat() {
        let idle = state.withLock { $0.count == 0 }
        if idle { pushControl(StreamMessages.heartbeat()) }
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
                for message in state.messages[state.head..<end] {
                    batch.append(message.bytes)
                    if message.live { state.live -= 1 }
                }
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
                wakeRoomWaiters()
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
            return state.takeWaiters()
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
                // Closed first: nothing of it is queued after `unsubscribed`.
                running.subscriber.close()
                running.task.cancel()
                queue.pushControl(StreamMessages.unsubscribed(id ?? ""))
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
