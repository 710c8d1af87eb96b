/// The latest value per key of a compacted topic, as every role materializes registry topics.
///
/// Reading a compacted topic from the earliest offset and folding it this way gives the same
/// state whether or not the log has physically compacted it yet (Kafka compacts in the
/// background, the embedded log periodically, the in-memory log never).
public struct CompactedTopicView: Sendable {
    /// Latest values by key; tombstoned keys are absent.
    public private(set) var values: [[UInt8]: LogRecord] = [:]

    /// Creates an empty view.
    public init() {}

    /// Applies records in log order: a value replaces the key's previous one, a tombstone removes it.
    /// Records without a key are ignored; a compacted topic has no place for them.
    public mutating func apply(_ records: [LogRecord]) {
        for record in records {
            guard let key = record.key else { continue }
            if record.value == nil { values.removeValue(forKey: key) } else { values[key] = record }
        }
    }

    /// Reads `topic` from the beginning up to its end offsets at the time of the call.
    ///
    /// - Important: Relies on a log never deleting the last record of a partition, which Kafka's
    ///   active segment and the embedded log's compaction both guarantee.
    public static func load(topic: String, from log: any EventLog) async throws -> CompactedTopicView {
        try await load(topic: topic, from: log, until: try await log.describeTopic(topic))
    }

    /// Reads `topic` from the beginning up to the end offsets in `description`.
    public static func load(
        topic: String, from log: any EventLog, until description: TopicDescription
    ) async throws -> CompactedTopicView {
        var remaining: [Int: Int64] = [:]
        for partition in description.partitions where partition.endOffset > partition.startOffset {
            remaining[partition.partition] = partition.endOffset
        }
        var view = CompactedTopicView()
        guard !remaining.isEmpty else { return view }
        let reader = try await log.makeReader(topic: topic, from: .earliest)
        do {
            try await view.read(from: reader, topic: topic, until: &remaining)
        } catch {
            await reader.close()
            throw error
        }
        await reader.close()
        return view
    }

    private mutating func read(
        from reader: any LogReader, topic: String, until remaining: inout [Int: Int64]
    )
        async throws
    {
        while !remaining.isEmpty {
            let records = try await reader.poll(maxRecords: 1000, timeout: .seconds(5))
            guard !records.isEmpty else {
                throw EventLogError(.timeout, "reading compacted topic '\(topic)' stalled before its end offsets")
            }
            let wanted = records.filter { record in remaining[record.partition].map { record.offset < $0 } ?? false }
            apply(wanted)
            for record in records where record.offset + 1 >= remaining[record.partition] ?? .max {
                remaining.removeValue(forKey: record.partition)
            }
        }
    }
}
