import EventLog
import GRDB

/// The SQLite schema of the embedded log and the encoding of record headers.
///
/// Records live in one `WITHOUT ROWID` table keyed by (topic id, partition, offset), so appends
/// are in-order B-tree inserts and reads are range scans. `partitions` holds each partition's
/// next offset, so offsets never go back when retention empties a partition and several
/// processes can append safely under SQLite's write lock.
enum EmbeddedLogSchema {
    /// Bumped when the layout changes; a directory with another version is refused.
    static let version = 1

    /// The page size of a new log file. A `WITHOUT ROWID` row larger than about a quarter of a
    /// page spills into an overflow page, and events (1–2 KB as JSON) did at SQLite's default of
    /// 4 KiB: each append wrote about twice the pages. With 16 KiB pages an append of a block's
    /// events took about 30% less time (`tributary-bench embedded-hop`, BENCHMARKS.md).
    static let pageSize = 16_384

    static func migrate(_ db: Database) throws {
        let current = try Int.fetchOne(db, sql: "PRAGMA user_version") ?? 0
        if current == version { return }
        guard current == 0 else {
            throw EventLogError(
                .corrupt,
                "the data directory holds log format \(current), this build reads format \(version): use a matching build or another --data directory"
            )
        }
        try db.execute(
            sql: """
                CREATE TABLE topics(
                    id INTEGER PRIMARY KEY,
                    name TEXT NOT NULL UNIQUE,
                    partition_count INTEGER NOT NULL,
                    compacted INTEGER NOT NULL,
                    retention_ms INTEGER,
                    retention_bytes INTEGER);
                CREATE TABLE partitions(
                    topic_id INTEGER NOT NULL,
                    partition INTEGER NOT NULL,
                    next_offset INTEGER NOT NULL,
                    PRIMARY KEY(topic_id, partition)) WITHOUT ROWID;
                CREATE TABLE records(
                    topic_id INTEGER NOT NULL,
                    partition INTEGER NOT NULL,
                    offset INTEGER NOT NULL,
                    timestamp_ms INTEGER NOT NULL,
                    key BLOB,
                    value BLOB,
                    headers BLOB,
                    PRIMARY KEY(topic_id, partition, offset)) WITHOUT ROWID;
                CREATE TABLE group_offsets(
                    group_id TEXT NOT NULL,
                    topic TEXT NOT NULL,
                    partition INTEGER NOT NULL,
                    next_offset INTEGER NOT NULL,
                    PRIMARY KEY(group_id, topic, partition)) WITHOUT ROWID;
                PRAGMA user_version = \(version);
                """)
    }

    /// Headers as `count, (nameLength, name, valueLength, value)*` with 32-bit little-endian lengths;
    /// `nil` when there are none.
    static func encodeHeaders(_ headers: [RecordHeader]) -> [UInt8]? {
        guard !headers.isEmpty else { return nil }
        var bytes: [UInt8] = []
        appendLength(headers.count, to: &bytes)
        for header in headers {
            let name = Array(header.name.utf8)
            appendLength(name.count, to: &bytes)
            bytes += name
            appendLength(header.value.count, to: &bytes)
            bytes += header.value
        }
        return bytes
    }

    /// Decodes ``encodeHeaders(_:)``.
    ///
    /// - Throws: ``EventLogError`` `.corrupt` when the bytes are truncated or malformed.
    static func decodeHeaders(_ bytes: [UInt8]?) throws -> [RecordHeader] {
        guard let bytes, !bytes.isEmpty else { return [] }
        var cursor = 0
        func readLength() throws -> Int {
            guard cursor + 4 <= bytes.count else { throw corruptHeaders() }
            defer { cursor += 4 }
            return Int(bytes[cursor]) | Int(bytes[cursor + 1]) << 8 | Int(bytes[cursor + 2]) << 16
                | Int(bytes[cursor + 3]) << 24
        }
        func readBytes(_ count: Int) throws -> [UInt8] {
            guard count >= 0, cursor + count <= bytes.count else { throw corruptHeaders() }
            defer { cursor += count }
            return Array(bytes[cursor..<cursor + count])
        }
        let count = try readLength()
        var headers: [RecordHeader] = []
        for _ in 0..<count {
            let name = String(decoding: try readBytes(try readLength()), as: UTF8.self)
            headers.append(RecordHeader(name: name, value: try readBytes(try readLength())))
        }
        return headers
    }

    private static func appendLength(_ length: Int, to bytes: inout [UInt8]) {
        let value = UInt32(length)
        bytes += [UInt8(value & 0xff), UInt8(value >> 8 & 0xff), UInt8(value >> 16 & 0xff), UInt8(value >> 24)]
    }

    private static func corruptHeaders() -> EventLogError {
        EventLogError(.corrupt, "a stored record has malformed headers: the data directory is damaged")
    }
}
