/// The log every role talks to: partitioned topics of keyed records with headers, batched
/// acknowledged appends, consumer groups with explicit commits, reads from explicit positions,
/// and compacted topics.
///
/// Implementations: ``InMemoryEventLog`` (tests), `EmbeddedEventLog` (SQLite, the default) and
/// `KafkaEventLog` (librdkafka). One conformance suite (`EventLogConformance` in TributaryTesting)
/// holds all of them to the same contract.
///
/// - Important: Records with the same key in the same topic keep their order. Delivery is
///   at-least-once: a consumer that does not commit sees the records again.
public protocol EventLog: Sendable {
    /// Creates a topic, or does nothing when it already exists.
    ///
    /// - Throws: ``EventLogError`` with `.invalidArgument` for a bad name or partition count.
    func createTopic(_ configuration: TopicConfiguration) async throws

    /// Describes every topic with its partitions and offsets, ordered by name.
    func describeTopics() async throws -> [TopicDescription]

    /// Appends records and returns once every one of them is durable (embedded) or acknowledged
    /// by the brokers (Kafka), with their positions in input order.
    ///
    /// - Throws: ``EventLogError``; when it throws, none, some or all records may have been stored.
    func append(_ records: [OutgoingRecord]) async throws -> [RecordPosition]

    /// Opens a reader at explicit positions, outside any consumer group (for replay and for
    /// resuming clients). It commits nothing.
    func makeReader(from positions: [TopicPartition: LogPosition]) async throws -> any LogReader

    /// Joins consumer group `group` subscribed to `topics`. Members of one group split the
    /// partitions between them; a partition with no committed offset starts at `initialPosition`.
    func makeGroupConsumer(
        group: String, topics: [String], initialPosition: LogPosition
    ) async throws
        -> any GroupConsumer

    /// The committed offsets of a group (the next offset to read per partition).
    func committedOffsets(group: String) async throws -> [TopicPartition: Int64]

    /// Flushes and releases resources. Readers and consumers still open are closed.
    func shutdown() async throws
}

/// Reads records from a fixed set of partitions.
public protocol LogReader: Sendable {
    /// Returns up to `maxRecords` next records, waiting up to `timeout` when none are ready;
    /// an empty array means none arrived in time. Records of one partition come in offset order.
    func poll(maxRecords: Int, timeout: Duration) async throws -> [LogRecord]

    /// Stops reading and releases resources.
    func close() async
}

/// A member of a consumer group.
///
/// - Important: Commit only after everything produced from a record is acknowledged. Closing
///   without committing makes the group redeliver the uncommitted records to whichever member
///   owns their partition next.
public protocol GroupConsumer: LogReader {
    /// Commits positions: for each partition, the offset of the next record to read.
    /// Partitions this member no longer owns are skipped (their records will be redelivered).
    func commit(_ offsets: [TopicPartition: Int64]) async throws

    /// The partitions this member currently owns.
    func assignment() async throws -> Set<TopicPartition>
}

extension EventLog {
    /// Opens a reader over every partition of `topic`, starting at `position` in each.
    public func makeReader(topic: String, from position: LogPosition) async throws -> any LogReader {
        guard let description = try await describeTopics().first(where: { $0.name == topic }) else {
            throw EventLogError.unknownTopic(topic)
        }
        var positions: [TopicPartition: LogPosition] = [:]
        for partition in description.partitions {
            positions[TopicPartition(topic: topic, partition: partition.partition)] = position
        }
        return try await makeReader(from: positions)
    }

    /// Joins a group that starts from the earliest record where it has no committed offset.
    public func makeGroupConsumer(group: String, topics: [String]) async throws -> any GroupConsumer {
        try await makeGroupConsumer(group: group, topics: topics, initialPosition: .earliest)
    }

    /// Describes one topic.
    ///
    /// - Throws: ``EventLogError`` `.unknownTopic` when it does not exist.
    public func describeTopic(_ topic: String) async throws -> TopicDescription {
        guard let description = try await describeTopics().first(where: { $0.name == topic }) else {
            throw EventLogError.unknownTopic(topic)
        }
        return description
    }
}

extension GroupConsumer {
    /// Commits everything up to and including `records` (per partition, the highest offset + 1).
    public func commit(through records: [LogRecord]) async throws {
        try await commit(records.nextOffsets)
    }
}

extension Array where Element == LogRecord {
    /// Per partition, the offset after the highest offset among these records: what to commit
    /// once they are handled.
    public var nextOffsets: [TopicPartition: Int64] {
        var offsets: [TopicPartition: Int64] = [:]
        // A poll returns a partition's records together: each run of one partition is looked up
        // once, not once per record (roles commit every batch they handle).
        var start = 0
        while start < count {
            let first = self[start]
            var next = first.offset + 1
            var end = start + 1
            while end < count, self[end].partition == first.partition, self[end].topic == first.topic {
                next = Swift.max(next, self[end].offset + 1)
                end += 1
            }
            let partition = first.topicPartition
            offsets[partition] = Swift.max(offsets[partition] ?? 0, next)
            start = end
        }
        return offsets
    }
}
