import EventLog
import Foundation
import Logging
import Metrics
import Synchronization
import TributaryModel

/// A record of a streamed topic, decoded and serialized once for every subscriber.
struct StreamItem: Sendable {
    enum Decoded: Sendable {
        case event(Tributary_V1_CanonicalEvent)
        case result(Tributary_V1_InvocationResult)
    }

    let partition: Int
    let offset: Int64
    let decoded: Decoded
    /// The record's proto3-JSON.
    let payload: [UInt8]

    /// Decodes `record`; nil for a record that is not the stream's message (the processor and
    /// host never write one; such a record is skipped, never delivered half-read).
    init?(_ record: LogRecord, stream: StreamSubscription.Stream) {
        guard let value = record.value else { return nil }
        let json = RecordEncoding(contentType: record.contentType ?? "") == .json
        partition = record.partition
        offset = record.offset
        switch stream {
        case .events:
            guard
                let event = try? RecordEncoding.decode(
                    Tributary_V1_CanonicalEvent.self, from: value, contentType: record.contentType),
                let payload = json ? value : try? event.jsonUTF8Bytes()
            else { return nil }
            decoded = .event(event)
            self.payload = payload
        case .results:
            guard
                let result = try? RecordEncoding.decode(
                    Tributary_V1_InvocationResult.self, from: value, contentType: record.contentType),
                let payload = json ? value : try? result.jsonUTF8Bytes()
            else { return nil }
            decoded = .result(result)
            self.payload = payload
        }
    }
}

/// One subscription's delivery state: its position in the topic (per partition, the next offset
/// it has not seen) and its connection's queue. Items at offsets it has passed are skipped, so a
/// subscription can move from its own catch-up reader to the shared tail without gaps or repeats.
final class Subscriber: Sendable {
    let subscription: StreamSubscription
    private let queue: OutboundQueue
    private let positions: Mutex<[Int: Int64]>
    private let open = Atomic(true)

    init(subscription: StreamSubscription, queue: OutboundQueue, from cursor: StreamCursor) {
        self.subscription = subscription
        self.queue = queue
        positions = Mutex(cursor.offsets)
    }

    private let closedWaiter = Mutex<CheckedContinuation<Void, Never>?>(nil)

    var isOpen: Bool { open.load(ordering: .relaxed) }
    var cursor: StreamCursor { StreamCursor(offsets: positions.withLock { $0 }) }

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
        self.positions.withLock { own in positions.allSatisfy { (own[$0.key] ?? 0) >= $0.value } }
    }

    /// Queues the items this subscription has not seen and wants; false once its queue closed.
    @discardableResult
    func deliver(_ items: [StreamItem]) -> Bool {
        guard isOpen else { return false }
        for item in items {
            let cursors: (before: String, after: String)? = positions.withLock { positions in
                guard item.offset >= positions[item.partition] ?? 0 else { return nil }
                let before = StreamCursor(offsets: positions).text
                positions[item.partition] = item.offset + 1
                return (before, StreamCursor(offsets: positions).text)
            }
            guard let cursors, subscription.wants(item.decoded) else { continue }
            let message = StreamMessages.item(
                subscription.stream, subscription: subscription.id, cursor: cursors.after, payload: item.payload)
            guard queue.push(message, subscription: subscription.id, cursorBefore: cursors.before) else {
                close()
                return false
            }
        }
        return true
    }
}

/// The shared live tail of one topic: one reader from the topic's end, each record decoded once
/// and handed to every subscriber that has caught up. Subscriptions that start in the past read
/// on their own until they reach the tail's position, then join it.
final class TopicBroadcaster: Sendable {
    private struct State {
        var positions: [Int: Int64]?
        var subscribers: [ObjectIdentifier: Subscriber] = [:]
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
            let items = records.compactMap { StreamItem($0, stream: stream) }
            let subscribers = state.withLock { state in
                var positions = state.positions ?? [:]
                for record in records {
                    positions[record.partition] = max(positions[record.partition] ?? 0, record.offset + 1)
                }
                state.positions = positions
                return Array(state.subscribers.values)
            }
            var closed: [Subscriber] = []
            for subscriber in subscribers where !subscriber.deliver(items) { closed.append(subscriber) }
            deliveries.increment(by: items.count * subscribers.count)
            if !closed.isEmpty { closed.forEach(leave) }
        }
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
            subscribersGauge.record(state.subscribers.count)
            return true
        }
    }

    func leave(_ subscriber: Subscriber) {
        subscriber.close()
        state.withLock { state in
            state.subscribers.removeValue(forKey: ObjectIdentifier(subscriber))
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

    init(log: any EventLog) {
        self.log = log
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
        _ = await broadcaster.position()
        defer { broadcaster.leave(subscriber) }
        if !broadcaster.join(subscriber) {
            var readFrom: [TopicPartition: LogPosition] = [:]
            for (partition, offset) in subscriber.cursor.offsets {
                readFrom[TopicPartition(topic: subscriber.subscription.stream.topic, partition: partition)] = .offset(
                    offset)
            }
            let reader = try await log.makeReader(from: readFrom)
            do {
                while !broadcaster.join(subscriber) {
                    try Task.checkCancellation()
                    let records = try await reader.poll(maxRecords: 1_000, timeout: .milliseconds(200))
                    let items = records.compactMap { StreamItem($0, stream: subscriber.subscription.stream) }
                    guard subscriber.deliver(items) else { break }
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
