import Foundation
import Synchronization

/// An event log held in memory, for unit tests. It keeps every record (no retention, no
/// physical compaction); it is lost when the process ends.
public final class InMemoryEventLog: EventLog, PartitionStore {
    private struct Partition {
        var records: [LogRecord] = []

        /// Stores `record` at the next offset of this partition, `number`.
        mutating func append(_ record: OutgoingRecord, number: Int, now: Int64) -> RecordPosition {
            let offset = Int64(records.count)
            records.append(
                LogRecord(
                    topic: record.topic, partition: number, offset: offset, key: record.key, value: record.value,
                    headers: record.headers, timestampMilliseconds: now))
            return RecordPosition(topic: record.topic, partition: number, offset: offset)
        }
    }
    private struct State {
        var topics: [String: TopicConfiguration] = [:]
        var partitions: [TopicPartition: Partition] = [:]
        var committed: [String: [TopicPartition: Int64]] = [:]
        var roundRobin = 0
    }
    /// What handles on one in-memory log share.
    private final class Storage: Sendable {
        let state = Mutex(State())
        let coordinator = InProcessGroupCoordinator()
        let changes = ChangeSignal()
    }
    private let storage: Storage
    private let shutDown = Mutex(false)
    private var coordinator: InProcessGroupCoordinator { storage.coordinator }
    package var changes: ChangeSignal { storage.changes }

    /// Creates an empty log.
    public init() {
        storage = Storage()
    }

    /// Opens another handle on the records of `log`, as reopening a durable log would.
    public init(sharingStorageOf log: InMemoryEventLog) {
        storage = log.storage
    }

    public func createTopic(_ configuration: TopicConfiguration) async throws {
        try validate(configuration)
        try storage.state.withLock { state in
            if let existing = state.topics[configuration.name] {
                guard existing.partitions == configuration.partitions else {
                    throw EventLogError(
                        .conflict,
                        "topic '\(configuration.name)' exists with \(existing.partitions) partitions, not \(configuration.partitions)"
                    )
                }
                return
            }
            state.topics[configuration.name] = configuration
            for partition in 0..<configuration.partitions {
                state.partitions[TopicPartition(topic: configuration.name, partition: partition)] = Partition()
            }
        }
    }

    public func describeTopics() async throws -> [TopicDescription] {
        try await describeAllTopics()
    }

    public func append(_ records: [OutgoingRecord]) async throws -> [RecordPosition] {
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        guard !shutDown.withLock({ $0 }) else { throw EventLogError(.closed, "the log is shut down") }
        let positions = try storage.state.withLock { state -> [RecordPosition] in
            let counts = state.topics.mapValues(\.partitions)
            let partitions = try assignPartitions(records, partitionCounts: counts, roundRobinStart: state.roundRobin)
            state.roundRobin &+= records.count
            return zip(records, partitions).map { record, partition in
                state.partitions[TopicPartition(topic: record.topic, partition: partition)]!.append(
                    record, number: partition, now: now)
            }
        }
        changes.notify(topics: ChangeSignal.distinct(records.lazy.map(\.topic)))
        return positions
    }

    public func makeReader(from positions: [TopicPartition: LogPosition]) async throws -> any LogReader {
        try await makeInProcessReader(from: positions)
    }

    public func makeGroupConsumer(
        group: String, topics: [String], initialPosition: LogPosition
    ) async throws
        -> any GroupConsumer
    {
        try await makeInProcessGroupConsumer(
            coordinator: coordinator, group: group, topics: topics, initialPosition: initialPosition)
    }

    public func committedOffsets(group: String) async throws -> [TopicPartition: Int64] {
        storage.state.withLock { $0.committed[group] ?? [:] }
    }

    public func shutdown() async throws {
        shutDown.withLock { $0 = true }
        changes.notify()
    }

    // MARK: PartitionStore

    package func partitionCounts() async throws -> [String: Int] {
        storage.state.withLock { $0.topics.mapValues(\.partitions) }
    }

    package func bounds(of partition: TopicPartition) async throws -> (start: Int64, end: Int64) {
        try storage.state.withLock { state in
            guard let stored = state.partitions[partition] else { throw EventLogError.unknownTopic(partition.topic) }
            return (0, Int64(stored.records.count))
        }
    }

    package func fetch(_ partition: TopicPartition, from offset: Int64, limit: Int) async throws -> [LogRecord] {
        try storage.state.withLock { state in
            guard let stored = state.partitions[partition] else { throw EventLogError.unknownTopic(partition.topic) }
            let start = Int(max(0, offset))
            guard start < stored.records.count else { return [] }
            return Array(stored.records[start..<min(stored.records.count, start + limit)])
        }
    }

    package func storeCommittedOffsets(_ offsets: [TopicPartition: Int64], group: String) async throws {
        storage.state.withLock { state in
            state.committed[group, default: [:]].merge(offsets) { _, new in new }
        }
    }
}
