import Metrics
import NIOCore
import Synchronization

/// The shared tail's items for the WebSocket subscribers on one event loop, delivered by that
/// loop: the tail appends each round's items once (``append(_:)``), and a pass on the loop gives
/// every subscriber there what it has not had yet, queues it and writes it at once
/// (``Subscriber/deliver(_:drainEvery:)``), so a connection's live pushes and its drain stay on
/// its own thread.
///
/// Entries carry a sequence number; each subscriber keeps the number of the next one it has not
/// been given (``Subscriber/feedCursor``). A pass looks at the newest entries before each
/// subscriber, so items that arrive during a pass reach the subscribers it has not come to yet;
/// the ones it had passed get them in the next pass, which follows at once. A pass that ends with
/// nothing new waiting leaves the loop until the tail appends again. A pass hands the loop back
/// after every `subscribersPerTurn` subscribers, so the loop's reads and other tasks are not held
/// up for a pass over thousands of connections. A subscriber whose queue is full meets its
/// slow-consumer action there, as before; the feed never waits for a connection.
final class LoopFeed: Sendable {
    struct Entry: Sendable {
        let item: StreamItem
        /// The messages made for the item on this loop, shared by the subscriptions with the same
        /// id and position (``DeliveryRound/ItemMessages``).
        let messages: DeliveryRound.ItemMessages
        /// When the tail appended it: the time its messages are queued at (the age limit counts
        /// from there, not from the pass that queues them).
        let appendedAt: ContinuousClock.Instant
    }

    private struct State {
        var entries: [Entry] = []
        /// The sequence number of `entries[0]`.
        var base = 0
        var subscribers: [Subscriber] = []
        /// Set while a pass is scheduled or running: an append then schedules none.
        var passScheduled = false

        /// The sequence number the next entry gets.
        var end: Int { base + entries.count }
    }

    let loop: any EventLoop
    private let state = Mutex(State())
    /// `State.end`, published for the pass's check before each subscriber (a lock only when it
    /// moved).
    private let published = Atomic(0)
    private let deliveries: Counter?
    /// Entries given to subscribers so far, each counted once per subscriber (for tests).
    let given = Atomic(0)
    /// Messages a subscriber's drain may wait for within a pass: a batched frame's worth.
    static let drainEvery = ChannelDrain.batch
    /// Called, off the lock, for a subscriber whose queue closed (the broadcaster's leave).
    private let closed: @Sendable (Subscriber) -> Void

    /// Subscribers a pass serves before it hands the loop back (reads, pings and other tasks
    /// run in between; the rest of the pass follows as the loop's next task).
    private let subscribersPerTurn: Int

    /// `deliveries` counts the entries given to subscribers (nil: not counted).
    init(
        loop: any EventLoop, deliveries: Counter? = nil, subscribersPerTurn: Int = 512,
        closed: @escaping @Sendable (Subscriber) -> Void
    ) {
        self.loop = loop
        self.subscribersPerTurn = max(1, subscribersPerTurn)
        self.deliveries = deliveries
        self.closed = closed
    }

    /// Adds `subscriber` from the newest entry on: the broadcaster's join, which has checked it
    /// has seen everything the tail passed (older entries would be skipped by its position anyway).
    func add(_ subscriber: Subscriber) {
        state.withLock { state in
            subscriber.feedCursor.store(state.end, ordering: .relaxed)
            state.subscribers.append(subscriber)
        }
    }

    func remove(_ subscriber: Subscriber) {
        state.withLock { state in
            if let index = state.subscribers.firstIndex(where: { $0 === subscriber }) {
                state.subscribers.remove(at: index)
            }
        }
    }

    /// Appends one round of the tail's items and schedules a pass unless one is on its way.
    func append(_ items: [StreamItem]) {
        guard !items.isEmpty else { return }
        let now = ContinuousClock.now
        let entries = items.map { Entry(item: $0, messages: DeliveryRound.ItemMessages(), appendedAt: now) }
        let schedule = state.withLock { state in
            state.entries.append(contentsOf: entries)
            published.store(state.end, ordering: .releasing)
            guard !state.passScheduled else { return false }
            state.passScheduled = true
            return true
        }
        if schedule { loop.execute { self.pass() } }
    }

    /// One pass over the loop's subscribers: the list as it started, and how far it got.
    private struct Pass: Sendable {
        let subscribers: [Subscriber]
        /// The feed's end when the pass started: everyone in `subscribers` has had everything
        /// before it once the pass is over, and anyone added later starts at or after it.
        let start: Int
        var next = 0
    }

    /// Gives every subscriber on the loop what it has not had, `subscribersPerTurn` at a time;
    /// on the loop.
    private func pass(_ resumed: Pass? = nil) {
        var (entries, base, end, pass) = state.withLock { state in
            (state.entries, state.base, state.end, resumed ?? Pass(subscribers: state.subscribers, start: state.end))
        }
        let stop = min(pass.next + subscribersPerTurn, pass.subscribers.count)
        var ended: [Subscriber] = []
        var delivered = 0
        for subscriber in pass.subscribers[pass.next..<stop] {
            if published.load(ordering: .acquiring) != end {
                (entries, base, end) = state.withLock { state in (state.entries, state.base, state.end) }
            }
            let cursor = max(subscriber.feedCursor.load(ordering: .relaxed), base)
            guard cursor < end else { continue }
            subscriber.feedCursor.store(end, ordering: .relaxed)
            delivered += end - cursor
            if !subscriber.deliver(entries[(cursor - base)...], drainEvery: Self.drainEvery) {
                ended.append(subscriber)
            }
        }
        pass.next = stop
        entries = []  // the pass's copy goes before the trim below, which then needs no copy
        if delivered > 0 {
            deliveries?.increment(by: delivered)
            given.add(delivered, ordering: .relaxed)
        }
        ended.forEach(closed)
        if stop < pass.subscribers.count {
            loop.execute { [pass] in self.pass(pass) }
            return
        }
        let again = state.withLock { state in
            let passed = min(pass.start, state.end) - state.base
            if passed > 0 {
                state.entries.removeFirst(passed)
                state.base += passed
            }
            // Items that came during the pass have not reached the subscribers it had passed.
            if state.end > pass.start { return true }
            state.passScheduled = false
            return false
        }
        if again { loop.execute { self.pass() } }
    }
}
