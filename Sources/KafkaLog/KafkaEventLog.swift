import CRdKafka
import EventLog
import Foundation
import Logging
import Synchronization

/// The ``EventLog`` on a Kafka cluster, through librdkafka.
///
/// One idempotent producer handle serves appends and metadata; each reader and group consumer
/// has its own consumer handle. Blocking librdkafka calls run on each handle's serial dispatch
/// queue and delivery reports on a dedicated poll thread, never on Swift's cooperative pool.
/// librdkafka's logs go to the logger, its statistics to swift-metrics gauges
/// (`tributary_kafka_*`, every ``KafkaConfiguration/statisticsInterval``).
///
/// - Important: Call ``shutdown()`` when done: it flushes outstanding appends and closes the
///   readers and consumers still open. Against a real cluster, ``createTopic(_:)`` uses the admin
///   API; librdkafka's mock cluster does not support it (create topics with ``KafkaMockCluster``).
public final class KafkaEventLog: EventLog {
    private struct State {
        var consumers: [ObjectIdentifier: KafkaConsumer] = [:]
        var shutDown = false
    }

    /// The configuration the log was opened with.
    public let configuration: KafkaConfiguration
    let logger: Logger
    let producer: KafkaProducer
    private let state = Mutex(State())

    /// Opens a log on the cluster at `configuration.bootstrapServers`. Connecting happens in the
    /// background; the first request that needs a broker fails if none can be reached.
    ///
    /// - Parameters:
    ///   - configuration: Brokers, producer and consumer settings.
    ///   - logger: Receives librdkafka's log lines (at the logger's level and above) and errors.
    /// - Throws: ``EventLogError`` `.invalidArgument` when librdkafka rejects a property.
    public init(configuration: KafkaConfiguration, logger: Logger = Logger(label: "tributary.kafka")) throws {
        self.configuration = configuration
        self.logger = logger
        self.producer = try KafkaProducer(configuration: configuration, logger: logger)
    }

    /// Enqueues `records` on the idempotent producer (in order; an explicit partition overrides
    /// the murmur2 key partitioner) and returns their positions once every delivery report arrived.
    ///
    /// When the bounded producer queue is full the append waits for room and retries.
    ///
    /// - Throws: ``EventLogError``: `.unknownTopic` for a missing topic (checked against metadata,
    ///   so nothing is auto-created), `.invalidArgument` for a partition out of range, `.timeout`
    ///   when records were not acknowledged within ``KafkaConfiguration/messageTimeout``, `.closed`
    ///   after ``shutdown()``. When it throws, none, some or all records may be stored.
    /// - Important: Cancelling the task does not withdraw records already enqueued; the append
    ///   still waits for their delivery reports.
    public func append(_ records: [OutgoingRecord]) async throws -> [RecordPosition] {
        try checkOpen()
        return try await producer.append(records)
    }

    /// Describes every topic except internal (`__`) ones, with each partition's low and high
    /// watermark offsets.
    ///
    /// - Throws: ``EventLogError`` `.unavailable` when no broker answers.
    public func describeTopics() async throws -> [TopicDescription] {
        try checkOpen()
        let timeout = configuration.operationTimeout
        return try await producer.client.perform { [client = producer.client] _ in
            try client.partitionCounts(timeout: timeout).sorted(by: { $0.key < $1.key }).map { topic, count in
                let partitions = try (0..<count).map { partition in
                    let (low, high) = try client.watermarks(topic: topic, partition: partition, timeout: timeout)
                    return PartitionDescription(partition: partition, startOffset: low, endOffset: high)
                }
                return TopicDescription(name: topic, partitions: partitions)
            }
        }
    }

    /// Opens a reader on its own consumer handle, assigned (not subscribed) to `positions`.
    ///
    /// `.earliest` follows retention, `.latest` is the end offset at this call, and an explicit
    /// offset is clamped into the retained range. The reader commits nothing.
    ///
    /// - Throws: ``EventLogError`` `.unknownTopic` or `.invalidArgument` for a missing topic or
    ///   partition, `.unavailable` when no broker answers.
    public func makeReader(from positions: [TopicPartition: LogPosition]) async throws -> any LogReader {
        try checkOpen()
        let group = "tributary-reader-\(UUID().uuidString)"
        let client = try KafkaClient(
            kind: RD_KAFKA_CONSUMER,
            properties: try configuration.consumerProperties(
                group: group, autoOffsetReset: "earliest", logLevel: logger.logLevel),
            context: KafkaClientContext(logger: logger), label: "tributary.kafka.reader")
        let timeout = configuration.operationTimeout
        do {
            try await client.perform { handle in
                let counts = try client.partitionCounts(timeout: timeout)
                let list = rd_kafka_topic_partition_list_new(Int32(positions.count))!
                defer { rd_kafka_topic_partition_list_destroy(list) }
                for (partition, position) in positions.sorted(by: { $0.key < $1.key }) {
                    guard let count = counts[partition.topic] else { throw EventLogError.unknownTopic(partition.topic) }
                    guard (0..<count).contains(partition.partition) else {
                        throw EventLogError(
                            .invalidArgument, "partition \(partition) does not exist (the topic has \(count))")
                    }
                    let offset = try Self.startOffset(position, of: partition, client: client, timeout: timeout)
                    rd_kafka_topic_partition_list_add(list, partition.topic, Int32(partition.partition)).pointee
                        .offset =
                        offset
                }
                rd_kafka_poll_set_consumer(handle)
                let result = rd_kafka_assign(handle, list)
                guard result == RD_KAFKA_RESP_ERR_NO_ERROR else {
                    throw EventLogError(kafka: result, "assigning partitions to a reader")
                }
            }
        } catch {
            await client.destroyOnQueue()
            throw error
        }
        return KafkaReader(consumer: try await register(client))
    }

    /// The offset a reader starts at: `.earliest` stays symbolic (it follows retention), `.latest`
    /// is pinned to the end offset now so records appended after this call are read, and an
    /// explicit offset is clamped into the retained range.
    private static func startOffset(
        _ position: LogPosition, of partition: TopicPartition, client: KafkaClient, timeout: Duration
    ) throws -> Int64 {
        switch position {
        case .earliest:
            return Int64(RD_KAFKA_OFFSET_BEGINNING)
        case .latest:
            return try client.watermarks(topic: partition.topic, partition: partition.partition, timeout: timeout).high
        case .offset(let offset):
            let (low, high) = try client.watermarks(
                topic: partition.topic, partition: partition.partition, timeout: timeout)
            return min(max(offset, low), high)
        }
    }

    /// Joins consumer group `group` with a subscribed consumer handle. Assignment is eager
    /// (`range`); the member commits only through ``GroupConsumer/commit(_:)``, synchronously,
    /// and a commit the group rejects mid-rebalance is skipped like one for a partition no longer
    /// owned (its records are redelivered).
    ///
    /// - Important: Partitions without a committed offset start at `.earliest` or `.latest`
    ///   (Kafka's `auto.offset.reset`); an explicit `.offset` has no meaning for a whole group
    ///   and throws `.invalidArgument` — use ``makeReader(from:)`` to read from an offset.
    public func makeGroupConsumer(
        group: String, topics: [String], initialPosition: LogPosition
    ) async throws
        -> any GroupConsumer
    {
        try checkOpen()
        let reset: String
        switch initialPosition {
        case .earliest: reset = "earliest"
        case .latest: reset = "latest"
        case .offset:
            throw EventLogError(
                .invalidArgument,
                "a consumer group starts new partitions at .earliest or .latest, not at an offset;"
                    + " use makeReader(from:) to read from explicit offsets")
        }
        guard !group.isEmpty, !topics.isEmpty else {
            throw EventLogError(.invalidArgument, "a group consumer needs a group name and at least one topic")
        }
        let counts = try await producer.client.perform {
            [client = producer.client, timeout = configuration.operationTimeout] _ in
            try client.partitionCounts(timeout: timeout)
        }
        if let missing = topics.first(where: { counts[$0] == nil }) { throw EventLogError.unknownTopic(missing) }
        let client = try KafkaClient(
            kind: RD_KAFKA_CONSUMER,
            properties: try configuration.consumerProperties(
                group: group, autoOffsetReset: reset, logLevel: logger.logLevel),
            context: KafkaClientContext(logger: logger, isGroupMember: true), label: "tributary.kafka.group.\(group)")
        do {
            try await client.perform { handle in
                rd_kafka_poll_set_consumer(handle)
                let list = rd_kafka_topic_partition_list_new(Int32(topics.count))!
                defer { rd_kafka_topic_partition_list_destroy(list) }
                for topic in topics { rd_kafka_topic_partition_list_add(list, topic, RD_KAFKA_PARTITION_UA) }
                let result = rd_kafka_subscribe(handle, list)
                guard result == RD_KAFKA_RESP_ERR_NO_ERROR else {
                    throw EventLogError(kafka: result, "subscribing group '\(group)' to \(topics)")
                }
            }
        } catch {
            await client.destroyOnQueue()
            throw error
        }
        return KafkaGroupConsumer(consumer: try await register(client), group: group)
    }

    /// Closes the readers and group members still open (members leave their groups without
    /// committing), waits up to ``KafkaConfiguration/shutdownFlushTimeout`` for outstanding
    /// appends, fails those still waiting with `.closed`, and destroys the producer.
    public func shutdown() async throws {
        let consumers = state.withLock { state in
            defer { state.consumers.removeAll() }
            state.shutDown = true
            return Array(state.consumers.values)
        }
        for consumer in consumers { await consumer.close() }
        await producer.shutdown()
    }

    private func checkOpen() throws {
        if state.withLock({ $0.shutDown }) { throw EventLogError(.closed, "the Kafka log is shut down") }
    }

    /// Tracks a consumer handle so shutdown can close it; it unregisters itself on close.
    ///
    /// - Throws: `.closed` (after closing the handle) when the log shut down meanwhile.
    private func register(_ client: KafkaClient) async throws -> KafkaConsumer {
        let id = ObjectIdentifier(client)
        let consumer = KafkaConsumer(client: client) { [weak self] in
            _ = self?.state.withLock { $0.consumers.removeValue(forKey: id) }
        }
        let registered = state.withLock { state in
            guard !state.shutDown else { return false }
            state.consumers[id] = consumer
            return true
        }
        guard registered else {
            await consumer.close()
            throw EventLogError(.closed, "the Kafka log is shut down")
        }
        return consumer
    }
}

extension KafkaClient {
    /// Destroys the handle on its queue, after any work queued before.
    func destroyOnQueue() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            queue.async {
                self.destroy()
                continuation.resume()
            }
        }
    }
}
