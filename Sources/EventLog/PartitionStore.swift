/// The storage underneath an in-process log (in-memory or embedded): what the shared reader,
/// group consumer and group coordinator need. Kafka does not use it; the broker does this work.
package protocol PartitionStore: Sendable {
    /// Wakes readers after appends made through this process.
    var changes: ChangeSignal { get }
    /// How often an idle reader looks again for records appended by other processes; `nil` when
    /// only this process appends. Default: `nil`.
    var idleRecheckInterval: Duration? { get }
    /// Partition counts by topic.
    func partitionCounts() async throws -> [String: Int]
    /// The first retained offset and the end offset of a partition.
    func bounds(of partition: TopicPartition) async throws -> (start: Int64, end: Int64)
    /// Up to `limit` records of `partition` at or after `offset`, in offset order; records
    /// retention or compaction removed are skipped, not an error.
    func fetch(_ partition: TopicPartition, from offset: Int64, limit: Int) async throws -> [LogRecord]
    /// Up to `limit` records in all, taken from each partition in the given order at or after its
    /// offset, as ``fetch(_:from:limit:)`` would. Default: one fetch per partition.
    func fetch(_ positions: [(partition: TopicPartition, offset: Int64)], limit: Int) async throws -> [LogRecord]
    /// A group's committed offsets.
    func committedOffsets(group: String) async throws -> [TopicPartition: Int64]
    /// Stores a group's committed offsets durably.
    func storeCommittedOffsets(_ offsets: [TopicPartition: Int64], group: String) async throws
}

extension PartitionStore {
    package var idleRecheckInterval: Duration? { nil }

    package func fetch(
        _ positions: [(partition: TopicPartition, offset: Int64)], limit: Int
    ) async throws -> [LogRecord] {
        var result: [LogRecord] = []
        for (partition, offset) in positions where result.count < limit {
            result += try await fetch(partition, from: offset, limit: limit - result.count)
        }
        return result
    }

    /// Resolves a position to an offset in `partition`.
    package func resolve(_ position: LogPosition, in partition: TopicPartition) async throws -> Int64 {
        let bounds = try await bounds(of: partition)
        switch position {
        case .earliest: return bounds.start
        case .latest: return bounds.end
        case .offset(let offset): return min(max(offset, bounds.start), bounds.end)
        }
    }

    /// A reader at `positions`, resolved against the current partition bounds.
    package func makeInProcessReader(from positions: [TopicPartition: LogPosition]) async throws -> InProcessReader {
        var resolved: [TopicPartition: Int64] = [:]
        for (partition, position) in positions {
            resolved[partition] = try await resolve(position, in: partition)
        }
        return InProcessReader(store: self, positions: resolved)
    }

    /// A new member of `group`, after checking that every topic exists.
    package func makeInProcessGroupConsumer(
        coordinator: InProcessGroupCoordinator, group: String, topics: [String], initialPosition: LogPosition
    ) async throws -> InProcessGroupConsumer {
        let counts = try await partitionCounts()
        for topic in topics where counts[topic] == nil { throw EventLogError.unknownTopic(topic) }
        return InProcessGroupConsumer(
            store: self, coordinator: coordinator, group: group, topics: topics, initialPosition: initialPosition)
    }

    /// Describes every topic from its partition bounds.
    package func describeAllTopics() async throws -> [TopicDescription] {
        var descriptions: [TopicDescription] = []
        for (topic, count) in try await partitionCounts().sorted(by: { $0.key < $1.key }) {
            var partitions: [PartitionDescription] = []
            for partition in 0..<count {
                let bounds = try await bounds(of: TopicPartition(topic: topic, partition: partition))
                partitions.append(
                    PartitionDescription(partition: partition, startOffset: bounds.start, endOffset: bounds.end))
            }
            descriptions.append(TopicDescription(name: topic, partitions: partitions))
        }
        return descriptions
    }

    /// Picks a partition for each record: explicit, else murmur2 of the key, else round robin.
    ///
    /// - Throws: ``EventLogError`` for unknown topics or out-of-range partitions.
    package func assignPartitions(
        _ records: [OutgoingRecord], partitionCounts: [String: Int], roundRobinStart: Int
    ) throws -> [Int] {
        var roundRobin = roundRobinStart
        // A batch's records are mostly of one topic: its count is looked up once per run of it.
        var last: (topic: String, count: Int)?
        return try records.map { record in
            let count: Int
            if let last, last.topic == record.topic {
                count = last.count
            } else {
                guard let found = partitionCounts[record.topic] else { throw EventLogError.unknownTopic(record.topic) }
                count = found
                last = (record.topic, found)
            }
            if let partition = record.partition {
                guard (0..<count).contains(partition) else {
                    throw EventLogError(
                        .invalidArgument, "partition \(partition) does not exist in '\(record.topic)' (0..<\(count))")
                }
                return partition
            }
            if let key = record.key { return Murmur2Partitioner.partition(forKey: key, partitionCount: count) }
            roundRobin &+= 1
            return Int(UInt(bitPattern: roundRobin) % UInt(count))
        }
    }
}

/// Checks a topic configuration the same way on every log.
package func validate(_ configuration: TopicConfiguration) throws {
    let name = configuration.name
    let allowed = name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "._-".contains($0)) }
    guard !name.isEmpty, name.count <= 249, allowed, name != ".", name != ".." else {
        throw EventLogError(
            .invalidArgument,
            "invalid topic name '\(name)': use 1–249 characters from a–z, A–Z, 0–9, '.', '_' and '-'")
    }
    guard (1...10_000).contains(configuration.partitions) else {
        throw EventLogError(
            .invalidArgument, "topic '\(name)' needs between 1 and 10000 partitions, not \(configuration.partitions)")
    }
}
