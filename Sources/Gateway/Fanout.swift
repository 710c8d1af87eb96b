import EventLog
import Foundation
import Logging
import Metrics
import NIOCore
import Synchronization
import TributaryModel

/// A record of a streamed topic, decoded and serialized once for every subscriber.
struct StreamItem: Sendable {
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
    private(set) var isReadable = false
    private(set) var decoded: Decoded
    /// The record's proto3-JSON.
    private(set) var payload: [UInt8]

    /// Decodes `record`; a record that is not the stream's message becomes `.unreadable`.
    init(_ record: LogRecord, stream: StreamSubscription.Stream) {
        partition = record.partition
        offset = record.offset
        decoded = .unreadable
        payload = []
        guard let value = record.value else { return }
        let json = RecordEncoding(contentType: record.contentType ?? "") == .json
        switch stream {
        case .events:
            guard
                let event = try? RecordEncoding.decode(
                    Tributary_V1_CanonicalEvent.self, from: value, contentType: record.contentType),
                let payload = json ? value : try? DirectJSON.encode(event)
            else { return }
            decoded = .event(event)
            isReadable = true
            self.payload = payload
        case .results:
            guard
                let result = try? RecordEncoding.decode(
                    Tributary_V1_InvocationResult.self, from: value, contentType: record.contentType),
                let payload = json ? value : try? result.jsonUTF8Bytes()
            else { return }
            decoded = .result(result)
            isReadable = true
            self.payload = payload
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
            guard let message = message(for: items, index, in: round) else { continue }
            guard queue.push(message, round: round) else {
                close()
                return false
            }
        }
        return true
    }

    /// The same while catching up on its own reader: waits for room in the queue instead, since
    /// reading history faster than the client takes it is no reason to drop or close.
    func deliverCatchingUp(_ items: [StreamItem]) async -> Bool {
        for index in items.indices {
            guard isOpen else { return false }
            guard let message = message(for: items, index) else { continue }
            guard await queue.pushWhenRoom(message) else {
                close()
                return false
            }
        }
        return true
    }

    /// The message for item `index` of `items`; nil when the item is behind this subscription or
    /// filtered out. Within a `round`, a subscription whose id and position match one already
    /// served this item gets the same message instead of a copy of its own. Its drop cursor is
    /// the position just before the item: resuming there gets the item first and everything after
    /// it (the same for every subscription that shares the message).
    private func message(for items: [StreamItem], _ index: Int, in round: DeliveryRound? = nil) -> QueuedMessage? {
        position.withLock { position -> QueuedMessage? in
            let partition = items[index].partition
            let offset = items[index].offset
            while position.offsets.count <= partition { position.offsets.append(0) }
            guard offset >= position.offsets[partition] else { return nil }
            position.offsets[partition] = offset + 1
            guard items[index].isReadable, wantsEverything || subscription.wants(items[index].decoded)
            else { return nil }
            let shared = round?.messages(ofItem: index)
            if let made = shared?.message(subscription: subscription.id, offsets: position.offsets) {
                return made.take()
            }
            var before = position.offsets
            before[partition] = offset
            let message = QueuedMessage(
                bytes: StreamMessages.item(
                    subscription.stream, subscription: subscription.id, cursor: Self.cursorText(position.offsets),
                    payload: items[index].payload),
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
final class TopicBroadcaster: Sendable {
    private struct State {
        var positions: [Int: Int64]?
        var subscribers: [ObjectIdentifier: Subscriber] = [:]
        /// The subscribers as a list, made again after a join or a leave (not once per round).
        var list: [Subscriber]?

        mutating func snapshot() -> [Subscriber] {
            if let list { return list }
            let made = Array(subscribers.values)
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
            let subscribers = state.withLock { state in
                var positions = state.positions ?? [:]
                for record in records {
                    positions[record.partition] = max(positions[record.partition] ?? 0, record.offset + 1)
                }
                state.positions = positions
                return state.snapshot()
            }
            // Nobody to decode for (no one watches events in most deployments): the position moved.
            guard !subscribers.isEmpty else { continue }
            deliver(records.map { StreamItem($0, stream: stream) }, to: subscribers)
        }
    }

    /// Queues `items` for `subscribers` and schedules the drains they need.
    private func deliver(_ items: [StreamItem], to subscribers: [Subscriber]) {
        // Subscribers at the same position with the same subscription id get one message per
        // item, shared: built once (with its frame), queued by reference (memory stays one copy
        // per item); the connections' drains are scheduled together, one hop per event loop.
        let round = subscribers.count > 1 ? DeliveryRound(items: items.count) : nil
        var closed: [Subscriber] = []
        for subscriber in subscribers where !subscriber.deliver(items, in: round) {
            closed.append(subscriber)
        }
        round?.scheduleDrains()
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
            state.list = nil
            subscribersGauge.record(state.subscribers.count)
            return true
        }
    }

    func leave(_ subscriber: Subscriber) {
        subscriber.close()
        state.withLock { state in
            if state.subscribers.removeValue(forKey: ObjectIdentifier(subscriber)) != nil { state.list = nil }
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

/// One round of the shared tail: the stream messages it has built, per item, by subscription id
/// and position (what every subscriber at the tail would otherwise build and hold a copy of), and
/// the connection drains its pushes need, scheduled together at the end of the round. Used by
/// the one task that runs the round, one subscriber after another (not Sendable).
final class DeliveryRound {
    final class ItemMessages {
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
    /// Drains to schedule, by event loop (a handful of loops: searched in order).
    private var drains: [(loop: any EventLoop, queues: [OutboundQueue])] = []

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

    /// Keeps a drain for ``scheduleDrains()``.
    func scheduleLater(_ queue: OutboundQueue, on loop: any EventLoop) {
        if let index = drains.firstIndex(where: { $0.loop === loop }) {
            drains[index].queues.append(queue)
        } else {
            drains.append((loop, [queue]))
        }
    }

    /// Schedules the round's drains: one task per event loop runs all of that loop's.
    func scheduleDrains() {
        for (loop, queues) in drains {
            loop.execute {
                for queue in queues { queue.runDrain() }
            }
        }
        drains = []
    }
}
