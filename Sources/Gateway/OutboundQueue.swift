import Metrics
import NIOCore
import Synchronization

/// The messages waiting for one client. Live messages (from the shared tail) are bounded by
/// count and age: past either, the slow-consumer action applies — drop the oldest live messages
/// (the client is told how many, with a cursor to fetch them again) or close the connection.
/// Replayed history is paced instead (its reader waits for room), and control messages
/// (`subscribed`, `pong`, `error`, heartbeats) never count and are never dropped.
final class OutboundQueue: Sendable {
    /// A queued message: the stream message, shared by every queue that holds it, and when and
    /// how this queue took it.
    struct Message: Sendable {
        let shared: QueuedMessage
        let queuedAt: ContinuousClock.Instant
        /// Whether the slow-consumer limits apply to it (a live message).
        let live: Bool
    }

    enum Next: Sendable {
        case messages([[UInt8]])
        /// The client is too slow and the action is `close`.
        case overflowed
        case closed
    }

    /// What a drain takes: messages, or the queue's end.
    enum Taken {
        case messages([QueuedMessage])
        /// `.overflowed` or `.closed`.
        case ended(Next)
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
        /// Set while a scheduled drain (``OutboundQueue/drain(limit:canWrite:write:)``) is on its
        /// way or running: a push then schedules none, the drain takes what it brings. (A
        /// ``LoopFeed`` runs the drain itself after its pushes, without it.)
        var drainScheduled = false
        /// How a drained queue ended, once its drain has seen the end (or at once on overflow).
        var end: Next?
        /// Waits for the queue to end (``OutboundQueue/ended()``; one caller).
        var endWaiter: CheckedContinuation<Next, Never>?
        /// The wait for the end was cancelled (possibly before it began).
        var endCancelled = false

        var count: Int { messages.count - head }

        /// The oldest queued live message's index (nearly always the head: checked first).
        var oldestLive: Int? {
            guard live > 0 else { return nil }
            if head < messages.count, messages[head].live { return head }
            return messages[head...].firstIndex(where: \.live)
        }

        /// Whether the live messages waiting exceed the count or the age limit.
        func overLimits(now: ContinuousClock.Instant, capacity: Int, maxAge: Duration) -> Bool {
            guard live > 0 else { return false }
            if live >= capacity { return true }
            guard let oldest = oldestLive else { return false }
            return now - messages[oldest].queuedAt > maxAge
        }

        /// Whether a push must schedule a drain now (and notes that one is scheduled).
        mutating func scheduleDrain(hasTarget: Bool) -> Bool {
            guard hasTarget, !drainScheduled else { return false }
            drainScheduled = true
            return true
        }

        /// Takes up to `limit` messages (drop notices first); nil when there is nothing to send.
        mutating func take(limit: Int) -> Taken? {
            if overflowed { return .ended(.overflowed) }
            var batch: [QueuedMessage] = dropped.sorted { $0.key < $1.key }.map { subscription, entry in
                QueuedMessage(
                    control: StreamMessages.dropped(
                        subscription: subscription, count: entry.count, cursor: entry.cursor))
            }
            dropped = [:]
            let end = min(messages.count, head + max(0, limit - batch.count))
            batch.reserveCapacity(batch.count + end - head)
            for index in head..<end {
                batch.append(messages[index].shared)
                if messages[index].live { live -= 1 }
            }
            head = end
            // Taken messages are released at once: a client's queue holds only what waits.
            if head == messages.count {
                messages.removeAll(keepingCapacity: messages.capacity <= 1_024)
                head = 0
            } else if head > 256, head * 2 > messages.count {
                messages.removeFirst(head)
                head = 0
            }
            if !batch.isEmpty { return .messages(batch) }
            if closed { return .ended(.closed) }
            return nil
        }

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

    /// Where messages go when they are written from the connection's event loop (WebSocket)
    /// instead of taken by a task (``next(limit:)``, SSE).
    private let drainTarget: (any DrainTarget)?
    /// Its event loop, read once.
    let drainLoop: (any EventLoop)?

    init(
        capacity: Int, maxAge: Duration, action: GatewayConfiguration.SlowConsumerAction,
        drainTarget: (any DrainTarget)? = nil
    ) {
        self.capacity = max(1, capacity)
        self.maxAge = maxAge
        self.action = action
        self.drainTarget = drainTarget
        drainLoop = drainTarget?.eventLoop
    }

    /// Runs this queue's drain; on its event loop (``LoopFeed``, after its pushes).
    func runDrain() {
        drainTarget?.run(self)
    }

    /// Queues a live message, taken at `now` (the caller's one clock read for many pushes) or
    /// now. Returns false once the queue is closed.
    @discardableResult
    func push(_ message: QueuedMessage, at now: ContinuousClock.Instant? = nil) -> Bool {
        append(message, live: true, now: now ?? .now, drains: true)
    }

    /// The same on the drain's own event loop, by a caller that runs the drain itself next
    /// (``runDrain()``): no drain is scheduled.
    func pushBeforeDrain(_ message: QueuedMessage, at now: ContinuousClock.Instant) -> Bool {
        append(message, live: true, now: now, drains: false)
    }

    /// Queues a control message: never counted against the limits, never dropped.
    @discardableResult
    func pushControl(_ bytes: [UInt8]) -> Bool {
        append(QueuedMessage(control: bytes), live: false, now: .now, drains: true)
    }

    /// `drains`: whether a push schedules a drain when none is (false: the caller drains next).
    private func append(_ message: QueuedMessage, live: Bool, now: ContinuousClock.Instant, drains: Bool) -> Bool {
        var scheduleDrain = false
        var endWaiter: CheckedContinuation<Next, Never>?
        let (waiter, waiting, open) = state.withLock {
            state -> (CheckedContinuation<Void, Never>?, [CheckedContinuation<Void, Never>], Bool) in
            guard !state.closed else { return (nil, [], false) }
            if live, state.overLimits(now: now, capacity: capacity, maxAge: maxAge) {
                switch action {
                case .close:
                    state.overflowed = true
                    state.closed = true
                    slowCloses.increment()
                    let (waiter, waiting) = state.takeWaiters()
                    // The end is known now: a drain stopped by a full socket may never run again.
                    state.end = .overflowed
                    endWaiter = state.endWaiter
                    state.endWaiter = nil
                    return (waiter, waiting, false)
                case .dropOldest:
                    while state.overLimits(now: now, capacity: capacity, maxAge: maxAge), let oldest = state.oldestLive
                    {
                        let dropped = state.messages[oldest].shared
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
            state.messages.append(Message(shared: message, queuedAt: now, live: live))
            if live { state.live += 1 }
            let waiter = state.waiter
            state.waiter = nil
            scheduleDrain = drains && state.scheduleDrain(hasTarget: drainTarget != nil)
            return (waiter, [], true)
        }
        waiter?.resume()
        waiting.forEach { $0.resume() }
        endWaiter?.resume(returning: .overflowed)
        if scheduleDrain { drainTarget?.schedule(self) }
        return open
    }

    /// Queues a replayed message once the queue has room: history is read at the client's pace.
    /// Returns false once the queue is closed or the task is cancelled.
    func pushWhenRoom(_ message: QueuedMessage) async -> Bool {
        while !Task.isCancelled {
            let full: Bool? = state.withLock { state in
                if state.closed { return nil }
                return state.count >= capacity
            }
            guard let full else { return false }
            if !full { return append(message, live: false, now: .now, drains: true) }
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
            let taken = state.withLock { $0.take(limit: limit) }
            if let taken {
                wakeRoomWaiters()
                switch taken {
                case .messages(let batch): return .messages(batch.map(\.bytes))
                case .ended(let end): return end
                }
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
        let (waiter, waiting, scheduleDrain) = state.withLock { state in
            state.closed = true
            let (waiter, waiting) = state.takeWaiters()
            return (waiter, waiting, state.scheduleDrain(hasTarget: drainTarget != nil))
        }
        waiter?.resume()
        waiting.forEach { $0.resume() }
        if scheduleDrain { drainTarget?.schedule(self) }
    }

    /// Ends the queue without writing what waits: for a connection that is closing (the client
    /// went away or a close frame is on its way), where data frames must not follow.
    func discard() {
        state.withLock { state in
            state.messages.removeAll()
            state.head = 0
            state.live = 0
            state.dropped = [:]
        }
        close()
    }

    /// Called by the drain target on its event loop: takes up to `limit` messages at a time and
    /// hands them to `write` while `canWrite()` holds. Stops when nothing is left (the next push
    /// schedules another drain), when the connection cannot take more (the drain stays scheduled:
    /// the target drains again once it can, and the slow-consumer limits see what waits), or at
    /// the end (overflow or close), which ``ended()`` then returns.
    func drain(limit: Int, canWrite: () -> Bool, write: ([QueuedMessage]) -> Void) {
        while canWrite() {
            let (taken, endWaiter) = state.withLock { state -> (Taken?, CheckedContinuation<Next, Never>?) in
                let taken = state.take(limit: limit)
                switch taken {
                case nil:
                    state.drainScheduled = false
                    return (nil, nil)
                case .messages:
                    return (taken, nil)
                case .ended(let end):
                    state.end = end
                    defer { state.endWaiter = nil }
                    return (taken, state.endWaiter)
                }
            }
            switch taken {
            case nil:
                return
            case .messages(let batch):
                wakeRoomWaiters()
                write(batch)
            case .ended(let end):
                endWaiter?.resume(returning: end)
                return
            }
        }
    }

    /// Waits until a drained queue ends: `.overflowed` (close with 1013) or `.closed` (after
    /// everything queued was written). Cancelling the wait ends it with `.closed`.
    func ended() async -> Next {
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let ended = state.withLock { state -> Next? in
                    if state.overflowed { return .overflowed }
                    if let end = state.end { return end }
                    // Cancelled before the wait began: nothing would resume it.
                    if state.endCancelled { return .closed }
                    state.endWaiter = continuation
                    return nil
                }
                if let ended { continuation.resume(returning: ended) }
            }
        } onCancel: {
            let waiter = state.withLock { state in
                state.endCancelled = true
                defer { state.endWaiter = nil }
                return state.endWaiter
            }
            waiter?.resume(returning: .closed)
        }
    }
}

/// Writes a connection's queued messages from its event loop: a push schedules one drain
/// (``OutboundQueue/drain(limit:canWrite:write:)``) there, or the loop's ``LoopFeed`` runs it after
/// its pushes, which writes everything queued without a task wake-up or an event-loop hop per
/// message. Class-bound: the queue's optional target is then a plain reference, checked without
/// a call.
protocol DrainTarget: AnyObject, Sendable {
    /// The connection's event loop.
    var eventLoop: any EventLoop { get }
    /// Writes what `queue` holds; called on ``eventLoop``.
    func run(_ queue: OutboundQueue)
}

extension DrainTarget {
    /// Runs the queue's drain on the connection's event loop, soon.
    func schedule(_ queue: OutboundQueue) {
        eventLoop.execute { self.run(queue) }
    }
}

/// A stream message as queues hold it: its bytes, its WebSocket frame when it was made once for
/// many connections, and what a drop notice needs. One object for every queue that holds the
/// message, so queuing it costs one reference count, not one per field (a message is queued for
/// thousands of connections).
final class QueuedMessage: Sendable {
    let bytes: [UInt8]
    let frame: ByteBuffer?
    /// The subscription it belongs to and the cursor that gets it again, for drop notices.
    let subscription: String
    let cursorBefore: String

    init(bytes: [UInt8], frame: ByteBuffer? = nil, subscription: String, cursorBefore: String) {
        self.bytes = bytes
        self.frame = frame
        self.subscription = subscription
        self.cursorBefore = cursorBefore
    }

    /// A control message or notice: no subscription's data.
    convenience init(control bytes: [UInt8]) {
        self.init(bytes: bytes, subscription: "", cursorBefore: "")
    }
}
