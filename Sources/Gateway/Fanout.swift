import EventLog
import Foundation
import Logging
import Metrics
import NIOCore
import Synchronization
import TributaryModel

/// A record of a streamed topic, decoded and serialized once for every subscriber. A class: every
/// subscriber reads the same one, and passing it on costs one reference count, not one per field.
final class StreamItem: Sendable {
    enum Decoded: Sendable {
        case event(Tributary_V1_CanonicalEvent)
        case result(Tributary_V1_InvocationResult)
        /// Not the stream's message (the processor and host never write one): skipped, but its
        /// offset still counts as seen.
        case unreadable
    }

    let partition: Int
    let offset: Int64
    /// Whether it is the stream's message (`decoded` is not `.unreadable`); stored, so it is
    /// checked per subscriber without touching the decoded message.
    let isReadable: Bool
    let decoded: Decoded
    /// The record's proto3-JSON.
    let payload: [UInt8]

    /// Decodes `record`; a record that is not the stream's message becomes `.unreadable`.
    init(_ record: LogRecord, stream: StreamSubscription.Stream) {
        partition = record.partition
        offset = record.offset
        (decoded, payload) = Self.decode(record, stream: stream)
        if case .unreadable = decoded { isReadable = false } else { isReadable = true }
    }

    private static func decode(_ record: LogRecord, stream: StreamSubscription.Stream) -> (Decoded, [UInt8]) {
        guard let value = record.value else { return (.unreadable, []) }
        let json = RecordEncoding(contentType: record.contentType ?? "") == .json
        switch stream {
        case .events:
            guard
                let event = try? RecordEncoding.decode(
                    Tributary_V1_CanonicalEvent.self, from: value, contentType: record.contentType),
                let payload = json ? value : try? DirectJSON.encode(event)
            else { return (.unreadable, []) }
            return (.event(event), payload)
        case .results:
            guard
                let result = try? RecordEncoding.decode(
                    Tributary_V1_InvocationResult.self, from: value, contentType: record.contentType),
                let payload = json ? value : try? result.jsonUTF8Bytes()
            else { return (.unreadable, []) }
            return (.result(result), payload)
        }
    }
}

/// One subscription's delivery state: its position in the topic (per partition, the next offset
/// it has not seen) and its connection's queue. Items at offsets it has passed are skipped, so a
/// subscription can move from its own catch-up reader to the shared tail without gaps or repeats.
final class Subscriber: Sendable {
    private struct Position {
        /// Per partition (index), the next offset not yet seen.
        var offsets: [Int64]
    }

    let subscription: StreamSubscription
    /// ``StreamSubscription/wantsEveryRecord``, worked out once.
    private let wantsEverything: Bool
    private let queue: OutboundQueue
    private let position: Mutex<Position>
    private let open = Atomic(true)
    private let closedWaiter = Mutex<CheckedContinuation<Void, Never>?>(nil)
    /// At the shared tail through a ``LoopFeed``: the sequence number of the feed's next entry
    /// this subscription has not been given. Set when it joins the feed, then used by the feed's
    /// event loop only.
    let feedCursor = Atomic(0)

    init(subscription: StreamSubscription, queue: OutboundQueue, from cursor: StreamCursor) {
        self.subscription = subscription
        wantsEverything = subscription.wantsEveryRecord
        self.queue = queue
        // Topics number their partitions from 0.
        let count = (cursor.offsets.keys.max() ?? -1) + 1
        let offsets = (0..<count).map { cursor.offsets[$0] ?? 0 }
        position = Mutex(Position(offsets: offsets))
    }

    var isOpen: Bool { open.load(ordering: .relaxed) }

    /// The event loop that writes its connection's messages (WebSocket); nil for SSE.
    var drainLoop: (any EventLoop)? { queue.drainLoop }

    var cursor: StreamCursor {
        StreamCursor(
            offsets: Dictionary(uniqueKeysWithValues: position.withLock { $0.offsets }.enumerated().map { ($0, $1) }))
    }

    func close() {
        open.store(false, ordering: .relaxed)
        closedWaiter.withLock { $0.take() }?.resume()
    }

    /// Returns once the subscription is closed (its queue closed, or it was cancelled).
    func waitUntilClosed() async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let closedAlready = closedWaiter.withLock { waiter in
                    guard isOpen else { return true }
                    waiter = continuation
                    return false
                }
                if closedAlready { continuation.resume() }
            }
        } onCancel: {
            close()
        }
    }

    /// Whether this subscription has seen everything up to `positions`.
    func hasReached(_ positions: [Int: Int64]) -> Bool {
        position.withLock { position in
            positions.allSatisfy { partition, offset in
                partition < position.offsets.count ? position.offsets[partition] >= offset : offset == 0
            }
        }
    }

    /// Queues the items this subscription has not seen and wants, from the shared tail: never
    /// waits (one slow client must not hold up the others), so a client too far behind meets the
    /// slow-consumer action. False once its queue closed.
    @discardableResult
    func deliver(_ items: [StreamItem], in round: DeliveryRound? = nil) -> Bool {
        // By index: an item is read in place, not copied (its storage is shared by every
        // subscriber, and on several threads).
        for index in items.indices {
            guard isOpen else { return false }  // unsubscribed: nothing more after `unsubscribed`
            guard let message = message(for: items[index], shared: round?.messages(ofItem: index)) else { continue }
            guard queue.push(message, at: round?.now) else {
                close()
                return false
            }
        }
        return true
    }

    /// The same from a ``LoopFeed``, on this subscription's event loop: queues what it wants of
    /// `entries` (each as of when the tail appended it, for the age limit), writing what its
    /// connection can take after every `drainEvery` messages and at the end. False once its queue
    /// closed.
    func deliver(_ entries: ArraySlice<LoopFeed.Entry>, drainEvery: Int) -> Bool {
        var queued = 0
        defer { if queued > 0 { queue.runDrain() } }
        for index in entries.indices {
            guard isOpen else { return false }
            guard let message = message(for: entries[index].item, shared: entries[index].messages) else { continue }
            guard queue.pushBeforeDrain(message, at: entries[index].appendedAt) else {
                close()
                return false
            }
            queued += 1
            // A long backlog is written as it goes: a client whose socket takes it is not held
            // to the queue's count limit by a pass that queued it all first.
            if queued == drainEvery {
                queue.runDrain()
                queued = 0
            }
        }
        return true
    }

    /// The same while catching up on its own reader: waits for room in the queue instead, since
    /// reading history faster than the client takes it is no reason to drop or close.
    func deliverCatchingUp(_ items: [StreamItem]) async -> Bool {
        for index in items.indices {
            guard isOpen else { return false }
            guard let message = message(for: items[index], shared: nil) else { continue }
            guard await queue.pushWhenRoom(message) else {
                close()
                return false
            }
        }
        return true
    }

    /// The message for `item`; nil when the item is behind this subscription or filtered out.
    /// A subscription whose id and position match one already given this item's `shared`
    /// messages gets the same message instead of a copy of its own. Its drop cursor is the
    /// position just before the item: resuming there gets the item first and everything after it
    /// (the same for every subscription that shares the message).
    private func message(for item: StreamItem, shared: DeliveryRound.ItemMessages?) -> QueuedMessage? {
        position.withLock { position -> QueuedMessage? in
            let partition = item.partition
            let offset = item.offset
            while position.offsets.count <= partition { position.offsets.append(0) }
            guard offset >= position.offsets[partition] else { return nil }
            position.offsets[partition] = offset + 1
            guard item.isReadable, wantsEverything || subscription.wants(item.decoded) else { return nil }
            if let made = shared?.message(subscription: subscription.id, offsets: position.offsets) {
                return made.take()
            }
            var before = position.offsets
            before[partition] = offset
            let message = QueuedMessage(
                bytes: StreamMessages.item(
                    subscription.stream, subscription: subscription.id, cursor: Self.cursorText(position.offsets),
                    payload: item.payload),
                subscription: subscription.id, cursorBefore: String(decoding: Self.cursorText(before), as: UTF8.self))
            shared?.keep(message, offsets: position.offsets)
            return message
        }
    }

    /// `StreamCursor.text` for partitions 0..<n, written straight into bytes.
    static func cursorText(_ offsets: [Int64]) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(offsets.count * 10)
        for (partition, offset) in offsets.enumerated() {
            if partition > 0 { bytes.append(UInt8(ascii: ".")) }
            JSONText.appendDecimal(UInt64(partition), to: &bytes)
            bytes.append(UInt8(ascii: "-"))
            JSONText.appendDecimal(UInt64(max(0, offset)), to: &bytes)
        }
        return bytes
    }
}

/// The shared live tail of one topic: one reader from the topic's end, each record decoded once
/// and handed to every subscriber that has caught up. Subscriptions that start in the past read
/// on their own until they reach the tail's position, then join it.
///
/// WebSocket subscribers are served by their connection's event loop: the tail hands each round
/// of items to one ``LoopFeed`` per loop, whose pass queues and writes them for every
/// connection there. The tail itself queues only for subscribers without a loop (SSE). Pushing
/// into thousands of queues from the tail's thread cost a reference count and the queue's lock
/// on memory the loops were writing at the same time, on every message for every connection.
final class TopicBroadcaster: Sendable {
    private struct State {
        var positions: [Int: Int64]?
        var subscribers: [ObjectIdentifier: Subscriber] = [:]
        /// The subscribers without an event loop as a list, made again after a join or a leave
        /// (not once per round).
        var list: [Subscriber]?
        /// Per event loop, the feed of its subscribers and how many there are (feeds stay once
        /// made: one per loop).
        var feeds: [ObjectIdentifier: (feed: LoopFeed, members: Int)] = [:]
        /// The feeds with subscribers, made again after a join or a leave.
        var activeFeeds: [LoopFeed] = []

        mutating func countMember(of loop: any EventLoop, by change: Int) {
            feeds[ObjectIdentifier(loop)]?.members += change
            activeFeeds = feeds.values.filter { $0.members > 0 }.map(\.feed)
        }

        mutating func snapshot() -> [Subscriber] {
            if let list { return list }
            let made = subscribers.values.filter { $0.drainLoop == nil }
            list = made
            return made
        }
    }

    let stream: StreamSubscription.Stream
    private let log: any EventLog
    private let state = Mutex(State())
    private let started = ChangeSignal()
    private let deliveries: Counter
    private let subscribersGauge: Gauge

    init(stream: StreamSubscription.Stream, log: any EventLog) {
        self.stream = stream
        self.log = log
        deliveries = Counter(
            label: "tributary_gateway_records_streamed_total", dimensions: [("stream", stream.rawValue)])
        subscribersGauge = Gauge(label: "tributary_gateway_live_subscribers", dimensions: [("stream", stream.rawValue)])
    }

    /// Follows the topic until cancelled.
    func run() async throws {
        let description = try await log.describeTopic(stream.topic)
        var positions: [Int: Int64] = [:]
        var readFrom: [TopicPartition: LogPosition] = [:]
        for partition in description.partitions {
            positions[partition.partition] = partition.endOffset
            readFrom[TopicPartition(topic: stream.topic, partition: partition.partition)] = .offset(partition.endOffset)
        }
        let reader = try await log.makeReader(from: readFrom)
        state.withLock { $0.positions = positions }
        started.notify()
        defer { Task { await reader.close() } }
        while !Task.isCancelled {
            let records: [LogRecord]
            do {
                records = try await reader.poll(maxRecords: 1_000, timeout: .seconds(1))
            } catch {
                if error is CancellationError || Task.isCancelled { return }
                throw error
            }
            guard !records.isEmpty else { continue }
            let (subscribers, feeds) = state.withLock { state in
                var positions = state.positions ?? [:]
                for record in records {
                    positions[record.partition] = max(positions[record.partition] ?? 0, record.offset + 1)
                }
                state.positions = positions
                // Handed out under the lock that joins take: a subscriber that joined before this
                // round's positions were set is in a feed before the round's items are (a feed
                // starts a joining subscriber at its newest entry).
                return (state.subscribers.isEmpty ? [] : state.snapshot(), state.activeFeeds)
            }
            // Nobody to decode for (no one watches events in most deployments): the position moved.
            guard !subscribers.isEmpty || !feeds.isEmpty else { continue }
            let items = records.map { StreamItem($0, stream: stream) }
            for feed in feeds { feed.append(items) }
            if !subscribers.isEmpty { deliver(items, to: subscribers) }
        }
    }

    /// Queues `items` for `subscribers` (those without an event loop).
    private func deliver(_ items: [StreamItem], to subscribers: [Subscriber]) {
        // Subscribers at the same position with the same subscription id get one message per
        // item, shared: built once, queued by reference (memory stays one copy per item).
        let round = subscribers.count > 1 ? DeliveryRound(items: items.count) : nil
        var closed: [Subscriber] = []
        for subscriber in subscribers where !subscriber.deliver(items, in: round) {
            closed.append(subscriber)
        }
        deliveries.increment(by: items.count * subscribers.count)
        if !closed.isEmpty { closed.forEach(leave) }
    }

    /// The tail's position once it has started.
    func position() async -> [Int: Int64] {
        while true {
            let version = started.version
            if let positions = state.withLock({ $0.positions }) { return positions }
            await started.wait(whileVersionIs: version, timeout: .seconds(1))
            try? Task.checkCancellation()
            if Task.isCancelled { return [:] }
        }
    }

    /// Adds `subscriber` if it has seen everything the tail has passed; false while it is behind.
    func join(_ subscriber: Subscriber) -> Bool {
        state.withLock { state in
            guard let positions = state.positions, subscriber.hasReached(positions) else { return false }
            state.subscribers[ObjectIdentifier(subscriber)] = subscriber
            if let loop = subscriber.drainLoop {
                if state.feeds[ObjectIdentifier(loop)] == nil {
                    let feed = LoopFeed(loop: loop, deliveries: deliveries) { [weak self] in self?.leave($0) }
                    state.feeds[ObjectIdentifier(loop)] = (feed, 0)
                }
                state.feeds[ObjectIdentifier(loop)]?.feed.add(subscriber)
                state.countMember(of: loop, by: 1)
            } else {
                state.list = nil
            }
            subscribersGauge.record(state.subscribers.count)
            return true
        }
    }

    func leave(_ subscriber: Subscriber) {
        subscriber.close()
        state.withLock { state in
            if state.subscribers.removeValue(forKey: ObjectIdentifier(subscriber)) != nil {
                if let loop = subscriber.drainLoop {
                    state.feeds[ObjectIdentifier(loop)]?.feed.remove(subscriber)
                    state.countMember(of: loop, by: -1)
                } else {
                    state.list = nil
                }
            }
            subscribersGauge.record(state.subscribers.count)
        }
    }
}

/// The gateway's streams: a broadcaster per streamed topic, and how a subscription gets from its
/// start to the shared tail.
final class Fanout: Sendable {
    let events: TopicBroadcaster
    let results: TopicBroadcaster
    private let log: any EventLog
    private let sharedTail: Bool

    init(log: any EventLog, sharedTail: Bool = true) {
        self.log = log
        self.sharedTail = sharedTail
        events = TopicBroadcaster(stream: .events, log: log)
        results = TopicBroadcaster(stream: .results, log: log)
    }

    func broadcaster(for stream: StreamSubscription.Stream) -> TopicBroadcaster {
        stream == .events ? events : results
    }

    func run() async throws {
        try await withThrowingDiscardingTaskGroup { group in
            group.addTask { try await self.events.run() }
            group.addTask { try await self.results.run() }
        }
    }

    /// Where `start` begins: the tail's position for `latest`, else the topic's beginning or the
    /// given cursor (partitions it does not name start at 0).
    func startCursor(_ start: StreamStart, stream: StreamSubscription.Stream) async throws -> StreamCursor {
        let broadcaster = broadcaster(for: stream)
        if case .latest = start { return StreamCursor(offsets: await broadcaster.position()) }
        let topic = try await log.describeTopic(stream.topic)
        var offsets: [Int: Int64] = [:]
        for partition in topic.partitions {
            switch start {
            case .latest, .earliest: offsets[partition.partition] = partition.startOffset
            case .cursor(let cursor): offsets[partition.partition] = cursor.offsets[partition.partition] ?? 0
            }
        }
        return StreamCursor(offsets: offsets)
    }

    /// Delivers to `subscriber` from its cursor: reads the topic on its own until it has caught up
    /// with the shared tail, then joins it, and stays until cancelled or its queue closes.
    func serve(_ subscriber: Subscriber) async throws {
        let broadcaster = broadcaster(for: subscriber.subscription.stream)
        let tail = await broadcaster.position()
        defer { broadcaster.leave(subscriber) }
        // `latest` starts exactly at the tail. Anything else joins only once its own reader has
        // reached the end of the log: the tail may itself be behind (it delivers what the
        // subscription already has, which is skipped), and records the tail is still catching up
        // on must not arrive as a live burst that trips the slow-consumer limits. (A past start
        // that happens to equal a tail which has not read the newest records yet is no exception:
        // joining there turned a replay into such a burst.)
        let startsAtTail: Bool
        if case .latest = subscriber.subscription.start {
            startsAtTail = subscriber.cursor.offsets == tail
        } else {
            startsAtTail = false
        }
        if !(sharedTail && startsAtTail && broadcaster.join(subscriber)) {
            var readFrom: [TopicPartition: LogPosition] = [:]
            for (partition, offset) in subscriber.cursor.offsets {
                readFrom[TopicPartition(topic: subscriber.subscription.stream.topic, partition: partition)] = .offset(
                    offset)
            }
            let reader = try await log.makeReader(from: readFrom)
            let batch = 1_000
            do {
                while true {
                    try Task.checkCancellation()
                    let records = try await reader.poll(maxRecords: batch, timeout: .milliseconds(200))
                    let items = records.map { StreamItem($0, stream: subscriber.subscription.stream) }
                    guard await subscriber.deliverCatchingUp(items) else { break }
                    if records.count < batch, sharedTail, broadcaster.join(subscriber) { break }
                }
            } catch {
                await reader.close()
                if error is CancellationError || Task.isCancelled { return }
                throw error
            }
            await reader.close()
        }
        // Joined: the tail delivers from here until the subscription ends.
        await subscriber.waitUntilClosed()
    }
}

/// One round of the shared tail for its subscribers without an event loop: the stream messages
/// it has built, per item, by subscription id and position (what every subscriber at the tail
/// would otherwise build and hold a copy of). Used by the one task that runs the round, one
/// subscriber after another (not Sendable).
final class DeliveryRound {
    /// One item's messages. Used by one thread at a time: the round's task, or the event loop of
    /// the ``LoopFeed`` that holds it (the tail makes it empty and hands it over under the
    /// feed's lock).
    final class ItemMessages: @unchecked Sendable {
        final class Made {
            let offsets: [Int64]
            /// The message as first made; once a second subscriber takes it, the same with its
            /// WebSocket frame, which that subscriber and every later one share (a message
            /// nobody shares is framed by its own drain, or never, for SSE).
            private var shared: QueuedMessage

            init(_ message: QueuedMessage, offsets: [Int64]) {
                self.offsets = offsets
                shared = message
            }

            var subscription: String { shared.subscription }

            /// The message for one more subscriber.
            func take() -> QueuedMessage {
                if shared.frame == nil {
                    shared = QueuedMessage(
                        bytes: shared.bytes, frame: ChannelDrain.frame(shared.bytes), subscription: shared.subscription,
                        cursorBefore: shared.cursorBefore)
                }
                return shared
            }
        }
        private var bySubscription: [String: Made] = [:]
        /// The last one made or used: most subscribers of a round share one id, so this is
        /// checked before the dictionary.
        private var last: Made?

        /// The message made for `subscription` at exactly `offsets`, if one was. The id is
        /// compared byte for byte: `String` equality treats canonically equivalent spellings
        /// alike, and a message must carry the client's own spelling.
        func message(subscription: String, offsets: [Int64]) -> Made? {
            if let last, Self.matches(last, subscription, offsets) { return last }
            guard let made = bySubscription[subscription], Self.matches(made, subscription, offsets) else {
                return nil
            }
            last = made
            return made
        }

        /// Keeps a message, taken by the subscriber that made it, for the next subscriber with the
        /// same id and position.
        func keep(_ message: QueuedMessage, offsets: [Int64]) {
            let made = Made(message, offsets: offsets)
            bySubscription[message.subscription] = made
            last = made
        }

        private static func matches(_ made: Made, _ subscription: String, _ offsets: [Int64]) -> Bool {
            made.offsets == offsets && made.subscription.utf8.elementsEqual(subscription.utf8)
        }
    }

    /// When the round started: the time its pushes are queued at (one clock read per round).
    let now = ContinuousClock.now
    private var items: [ItemMessages?]

    init(items count: Int) {
        items = Array(repeating: nil, count: count)
    }

    /// The messages of item `index`, made on first use (a round with no subscriber that wants an
    /// item allocates nothing for it).
    func messages(ofItem index: Int) -> ItemMessages {
        if let made = items[index] { return made }
        let made = ItemMessages()
        items[index] = made
        return made
    }
}
