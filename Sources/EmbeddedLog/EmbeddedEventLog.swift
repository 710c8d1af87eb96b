import EventLog
import Foundation
import GRDB
import Logging
import Synchronization

/// The default, durable event log: SQLite in WAL mode behind one batching writer.
///
/// An acknowledged append survives `kill -9` (and, with ``EmbeddedLogConfiguration/Durability/full``,
/// power loss). Several processes may open one data directory: appends are serialized by
/// SQLite's write lock and readers notice other processes' appends within
/// ``EmbeddedLogConfiguration/crossProcessPollInterval``.
///
/// - Important: Consumer groups coordinate the members opened through one log handle; run one
///   handle per group on a data directory, or use Kafka to spread a group over processes.
public final class EmbeddedEventLog: EventLog, PartitionStore {
    struct StoredTopic: Sendable {
        var id: Int64
        var configuration: TopicConfiguration
    }

    let database: DatabasePool
    let configuration: EmbeddedLogConfiguration
    private let topics = Mutex<[String: StoredTopic]>([:])
    private let roundRobin = Mutex(0)
    private let coordinator = InProcessGroupCoordinator()
    private let writer: EmbeddedLogWriter
    private let checkpointer: EmbeddedLogCheckpointer
    package let changes = ChangeSignal()
    package var idleRecheckInterval: Duration? { configuration.crossProcessPollInterval }

    /// Opens (creating when needed) the log in `configuration.directory`.
    ///
    /// - Throws: ``EventLogError`` `.io` when the directory cannot be created, `.corrupt` when it
    ///   holds something that is not a Tributary log.
    public init(
        configuration: EmbeddedLogConfiguration = EmbeddedLogConfiguration(),
        logger: Logger = Logger(label: "tributary.embedded-log")
    ) throws {
        self.configuration = configuration
        let directory = URL(fileURLWithPath: configuration.directory)
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        } catch {
            throw EventLogError(
                .io, "cannot create data directory '\(configuration.directory)': \(error.localizedDescription)")
        }
        var databaseConfiguration = Configuration()
        databaseConfiguration.busyMode = .timeout(10)
        let synchronous = configuration.durability == .full ? "FULL" : "NORMAL"
        databaseConfiguration.prepareDatabase { db in
            // Takes effect only when the file is created; an older directory keeps its pages.
            try db.execute(sql: "PRAGMA page_size = \(EmbeddedLogSchema.pageSize)")
            // Checkpoints run on their own thread (EmbeddedLogCheckpointer), not inside commits.
            try db.execute(sql: "PRAGMA wal_autocheckpoint = 0")
        }
        let path = directory.appendingPathComponent("log.sqlite").path
        do {
            database = try DatabasePool(path: path, configuration: databaseConfiguration)
            // Not in `prepareDatabase`: GRDB sets `synchronous = NORMAL` on the writer after it,
            // when it turns WAL on. Readers do not write, so the writer's setting is the one that counts.
            try database.writeWithoutTransaction { try $0.execute(sql: "PRAGMA synchronous = \(synchronous)") }
            try database.write { try EmbeddedLogSchema.migrate($0) }
        } catch let error as EventLogError {
            throw error
        } catch let error as DatabaseError
            where error.resultCode == .SQLITE_NOTADB || error.resultCode == .SQLITE_CORRUPT
        {
            throw EventLogError(
                .corrupt,
                "cannot open the log in '\(configuration.directory)' (\(error.message ?? "\(error)")): the directory is damaged or not a Tributary data directory; move it away or choose another --data"
            )
        } catch {
            throw EventLogError(
                .io,
                "cannot open the log in '\(configuration.directory)': \(error) (check permissions, free space and that no other program locks it)"
            )
        }
        let maintenance = EmbeddedLogMaintenance(configuration: configuration)
        do {
            checkpointer = try EmbeddedLogCheckpointer(
                path: path, idleGap: configuration.checkpointIdleGap,
                inlineAfterBytes: configuration.checkpointInlineBytes, logger: logger)
        } catch {
            throw EventLogError(.io, "cannot open the log in '\(configuration.directory)': \(error)")
        }
        writer = EmbeddedLogWriter(
            database: database, configuration: configuration, changes: changes, checkpointer: checkpointer,
            logger: logger, maintenance: { try maintenance.run(in: $0, now: $1) })
        try topics.withLock { $0 = try database.read(Self.loadTopics) }
        writer.start()
        checkpointer.start()
    }

    /// Opens the log off the cooperative thread pool: opening and migrating SQLite blocks, for
    /// up to the busy timeout when another process holds the write lock.
    public static func open(
        configuration: EmbeddedLogConfiguration = EmbeddedLogConfiguration(),
        logger: Logger = Logger(label: "tributary.embedded-log")
    ) async throws -> EmbeddedEventLog {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(with: Result { try EmbeddedEventLog(configuration: configuration, logger: logger) })
            }
        }
    }

    public func createTopic(_ topic: TopicConfiguration) async throws {
        try validate(topic)
        try await database.write { db in
            if let existing = try Int.fetchOne(
                db, sql: "SELECT partition_count FROM topics WHERE name = ?", arguments: [topic.name])
            {
                guard existing == topic.partitions else {
                    throw EventLogError(
                        .conflict, "topic '\(topic.name)' exists with \(existing) partitions, not \(topic.partitions)")
                }
                return
            }
            try db.execute(
                sql: """
                    INSERT INTO topics(name, partition_count, compacted, retention_ms, retention_bytes)
                    VALUES (?, ?, ?, ?, ?)
                    """,
                arguments: [
                    topic.name, topic.partitions, topic.compacted, topic.retentionMilliseconds, topic.retentionBytes,
                ])
            let id = db.lastInsertedRowID
            for partition in 0..<topic.partitions {
                try db.execute(
                    sql: "INSERT INTO partitions(topic_id, partition, next_offset) VALUES (?, ?, 0)",
                    arguments: [id, partition])
            }
        }
        try await reloadTopics()
    }

    public func describeTopics() async throws -> [TopicDescription] {
        try await reloadTopics()
        return try await describeAllTopics()
    }

    /// The stored configuration of each topic, by name.
    public func topicConfigurations() async throws -> [String: TopicConfiguration] {
        try await reloadTopics()
        return topics.withLock { $0.mapValues(\.configuration) }
    }

    public func append(_ records: [OutgoingRecord]) async throws -> [RecordPosition] {
        guard !records.isEmpty else { return [] }
        var known = topics.withLock { $0 }
        if records.contains(where: { known[$0.topic] == nil }) {
            try await reloadTopics()  // another process may have created it
            known = topics.withLock { $0 }
        }
        let start = roundRobin.withLock { value in
            defer { value &+= records.count }
            return value
        }
        let partitions = try assignPartitions(
            records, partitionCounts: known.mapValues(\.configuration.partitions), roundRobinStart: start)
        let placements = zip(records, partitions).map { record, partition in
            EmbeddedLogWriter.Placement(record: record, topicID: known[record.topic]!.id, partition: partition)
        }
        return try await writer.append(placements)
    }

    public func makeReader(from positions: [TopicPartition: LogPosition]) async throws -> any LogReader {
        try await makeInProcessReader(from: positions)
    }

    public func makeGroupConsumer(
        group: String, topics names: [String], initialPosition: LogPosition
    ) async throws
        -> any GroupConsumer
    {
        try await makeInProcessGroupConsumer(
            coordinator: coordinator, group: group, topics: names, initialPosition: initialPosition)
    }

    public func committedOffsets(group: String) async throws -> [TopicPartition: Int64] {
        try await database.read { db in
            var offsets: [TopicPartition: Int64] = [:]
            let rows = try Row.fetchAll(
                db, sql: "SELECT topic, partition, next_offset FROM group_offsets WHERE group_id = ?",
                arguments: [group])
            for row in rows {
                offsets[TopicPartition(topic: row[0], partition: row[1])] = row[2]
            }
            return offsets
        }
    }

    /// Runs retention and compaction now instead of waiting for the next interval.
    ///
    /// - Parameter date: the time retention ages are measured from. Default: now.
    public func runMaintenance(asOf date: Date = Date()) async throws {
        try await writer.runMaintenance(asOf: Int64(date.timeIntervalSince1970 * 1000))
    }

    /// Copies what it can of the write-ahead log into the database now (a PASSIVE checkpoint, as
    /// the checkpointer runs); returns the frames the WAL holds, copied or not.
    package func checkpoint() throws -> Int {
        try checkpointer.checkpointNow()
    }

    /// SQLite's `synchronous` setting on the connection appends go through (2 is FULL, 1 NORMAL).
    package func writerSynchronous() throws -> Int {
        try database.writeWithoutTransaction { try Int.fetchOne($0, sql: "PRAGMA synchronous") ?? -1 }
    }

    public func shutdown() async throws {
        await writer.stop()
        await checkpointer.stop()
        changes.notify()
    }

    // MARK: PartitionStore

    package func partitionCounts() async throws -> [String: Int] {
        let cached = topics.withLock { $0.mapValues(\.configuration.partitions) }
        return cached
    }

    package func bounds(of partition: TopicPartition) async throws -> (start: Int64, end: Int64) {
        let topicID = try await storedTopicID(partition.topic)
        return try await database.read { db in
            guard
                let end = try Int64.fetchOne(
                    db, sql: "SELECT next_offset FROM partitions WHERE topic_id = ? AND partition = ?",
                    arguments: [topicID, partition.partition])
            else { throw EventLogError(.invalidArgument, "partition \(partition) does not exist") }
            let start = try Int64.fetchOne(
                db, sql: "SELECT MIN(offset) FROM records WHERE topic_id = ? AND partition = ?",
                arguments: [topicID, partition.partition])
            return (start ?? end, end)
        }
    }

    package func fetch(_ partition: TopicPartition, from offset: Int64, limit: Int) async throws -> [LogRecord] {
        try await fetch([(partition, offset)], limit: limit)
    }

    /// Reads every partition in one read transaction: one hop to a reader connection per poll, not
    /// one per partition.
    package func fetch(
        _ positions: [(partition: TopicPartition, offset: Int64)], limit: Int
    ) async throws -> [LogRecord] {
        var ids: [Int64] = []
        ids.reserveCapacity(positions.count)
        for (partition, _) in positions { ids.append(try await storedTopicID(partition.topic)) }
        let topicIDs = ids
        return try await database.read { db in
            let statement = try db.cachedStatement(
                sql: """
                    SELECT offset, timestamp_ms, key, value, headers FROM records
                    WHERE topic_id = ? AND partition = ? AND offset >= ? ORDER BY offset LIMIT ?
                    """)
            var records: [LogRecord] = []
            records.reserveCapacity(min(limit, 1024))
            for ((partition, offset), topicID) in zip(positions, topicIDs) where records.count < limit {
                let rows = try Row.fetchCursor(
                    statement, arguments: [topicID, partition.partition, offset, limit - records.count])
                while let row = try rows.next() {
                    records.append(
                        LogRecord(
                            topic: partition.topic, partition: partition.partition, offset: row[0],
                            key: Self.bytes(row[2]), value: Self.bytes(row[3]),
                            headers: try EmbeddedLogSchema.decodeHeaders(Self.bytes(row[4])),
                            timestampMilliseconds: row[1]))
                }
            }
            return records
        }
    }

    package func storeCommittedOffsets(_ offsets: [TopicPartition: Int64], group: String) async throws {
        try await database.write { db in
            for (partition, offset) in offsets {
                try db.execute(
                    sql: """
                        INSERT INTO group_offsets(group_id, topic, partition, next_offset) VALUES (?, ?, ?, ?)
                        ON CONFLICT(group_id, topic, partition) DO UPDATE SET next_offset = excluded.next_offset
                        """,
                    arguments: [group, partition.topic, partition.partition, offset])
            }
        }
        checkpointer.noteWrite()
    }

    // MARK: helpers

    private static func bytes(_ value: DatabaseValue) -> [UInt8]? {
        switch value.storage {
        case .blob(let data): return [UInt8](data)
        case .string(let text): return Array(text.utf8)
        default: return nil
        }
    }

    private func storedTopicID(_ name: String) async throws -> Int64 {
        if let id = topics.withLock({ $0[name]?.id }) { return id }
        try await reloadTopics()
        guard let id = topics.withLock({ $0[name]?.id }) else { throw EventLogError.unknownTopic(name) }
        return id
    }

    private func reloadTopics() async throws {
        let loaded = try await database.read(Self.loadTopics)
        topics.withLock { $0 = loaded }
    }

    @Sendable private static func loadTopics(_ db: Database) throws -> [String: StoredTopic] {
        let stored = try Row.fetchAll(
            db, sql: "SELECT id, name, partition_count, compacted, retention_ms, retention_bytes FROM topics"
        ).map { row -> StoredTopic in
            let retention: Int64? = row[4]
            return StoredTopic(
                id: row[0],
                configuration: TopicConfiguration(
                    name: row[1], partitions: row[2], compacted: row[3],
                    retentionAge: retention.map { .milliseconds($0) }, retentionBytes: row[5]))
        }
        return Dictionary(uniqueKeysWithValues: stored.map { ($0.configuration.name, $0) })
    }
}
