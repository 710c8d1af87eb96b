import EventLog
import Foundation
import GRDB

/// Retention and compaction of the embedded log, run on the writer thread.
///
/// - Retention by age deletes records older than the topic's age from the front of each partition.
/// - Retention by size deletes the oldest records of a partition until it holds at most the limit.
/// - Compaction keeps the latest record per key and drops tombstones older than
///   ``EmbeddedLogConfiguration/tombstoneRetention``. The last record of a partition is never
///   removed, so readers can always reach the end offset.
struct EmbeddedLogMaintenance: Sendable {
    var configuration: EmbeddedLogConfiguration

    /// Applies every topic's policy as of `now` (milliseconds since 1970).
    func run(in db: Database, now: Int64) throws {
        let topics = try Row.fetchAll(
            db, sql: "SELECT id, partition_count, compacted, retention_ms, retention_bytes FROM topics")
        for topic in topics {
            let id: Int64 = topic[0]
            let partitionCount: Int = topic[1]
            let compacted: Bool = topic[2]
            let retentionMilliseconds: Int64? = topic[3]
            let retentionBytes: Int64? = topic[4]
            for partition in 0..<partitionCount {
                if compacted {
                    try compact(topicID: id, partition: partition, now: now, in: db)
                } else if let retentionMilliseconds {
                    try deleteOlder(than: now - retentionMilliseconds, topicID: id, partition: partition, in: db)
                }
                if let retentionBytes {
                    try trim(toBytes: retentionBytes, topicID: id, partition: partition, in: db)
                }
            }
        }
    }

    private func deleteOlder(than cutoff: Int64, topicID: Int64, partition: Int, in db: Database) throws {
        // Timestamps rise with offsets, so the old records are a prefix of the partition.
        let firstKept =
            try Int64.fetchOne(
                db,
                sql: """
                    SELECT offset FROM records WHERE topic_id = ? AND partition = ? AND timestamp_ms >= ?
                    ORDER BY offset LIMIT 1
                    """,
                arguments: [topicID, partition, cutoff]) ?? Int64.max
        try db.execute(
            sql: "DELETE FROM records WHERE topic_id = ? AND partition = ? AND offset < ?",
            arguments: [topicID, partition, firstKept])
    }

    private func trim(toBytes limit: Int64, topicID: Int64, partition: Int, in db: Database) throws {
        let rows = try Row.fetchCursor(
            db,
            sql: """
                SELECT offset, IFNULL(length(key), 0) + IFNULL(length(value), 0) + IFNULL(length(headers), 0)
                FROM records WHERE topic_id = ? AND partition = ? ORDER BY offset DESC
                """,
            arguments: [topicID, partition])
        var total: Int64 = 0
        var firstDropped: Int64?
        while let row = try rows.next() {
            total += row[1] as Int64
            if total > limit {
                firstDropped = row[0]
                break
            }
        }
        guard let firstDropped else { return }
        try db.execute(
            sql: "DELETE FROM records WHERE topic_id = ? AND partition = ? AND offset <= ?",
            arguments: [topicID, partition, firstDropped])
    }

    private func compact(topicID: Int64, partition: Int, now: Int64, in db: Database) throws {
        let rows = try Row.fetchAll(
            db,
            sql: """
                SELECT offset, key, value IS NULL, timestamp_ms FROM records
                WHERE topic_id = ? AND partition = ? ORDER BY offset
                """,
            arguments: [topicID, partition])
        guard let lastOffset = rows.last?[0] as Int64? else { return }
        var latestByKey: [Data: Int64] = [:]
        for row in rows {
            if let key = row[1] as Data? { latestByKey[key] = row[0] }
        }
        let tombstoneCutoff = now - configuration.tombstoneRetention.components.seconds * 1000
        var doomed: [Int64] = []
        for row in rows {
            let offset: Int64 = row[0]
            guard offset != lastOffset, let key = row[1] as Data? else { continue }
            let superseded = latestByKey[key] != offset
            let expiredTombstone = (row[2] as Bool) && (row[3] as Int64) < tombstoneCutoff
            if superseded || expiredTombstone { doomed.append(offset) }
        }
        let delete = try db.cachedStatement(
            sql: "DELETE FROM records WHERE topic_id = ? AND partition = ? AND offset = ?")
        for offset in doomed {
            try delete.execute(arguments: [topicID, partition, offset])
        }
    }
}
