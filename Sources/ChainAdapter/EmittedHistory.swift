import EventLog
import TributaryModel

/// What an adapter has already produced to `raw-events`, read back from the log itself so that
/// a restart after a crash at any instant continues exactly where the log says it stopped.
///
/// Every record of a chain is keyed by its CAIP-2 id, so they are all on one partition, in the
/// order they were produced. The history is read backwards from the end in chunks, only as far as
/// needed (see ``read(from:topic:key:source:window:chainFinalizes:chunk:)``).
struct EmittedHistory {
    /// The newest state of each emitted, not retracted block that may still change: its latest
    /// record (with the latest status), by number.
    var open: [UInt64: Tributary_V1_RawBlockRecord] = [:]
    /// Every emitted, not retracted block seen, number → hash, to find the common ancestor after a
    /// reorg that happened while the adapter was down.
    var hashes: [UInt64: String] = [:]

    /// The highest emitted, not retracted block of any status.
    var newest: (number: UInt64, hash: String)? {
        hashes.max { $0.key < $1.key }.map { ($0.key, $0.value) }
    }

    /// Applies records of this adapter in the order they were produced.
    mutating func replay(_ records: [Tributary_V1_RawBlockRecord]) {
        for record in records {
            let number = record.block.number
            if record.removed {
                if hashes[number] == record.block.hash {
                    hashes.removeValue(forKey: number)
                    open.removeValue(forKey: number)
                }
            } else {
                hashes[number] = record.block.hash
                if record.status == .finalized {
                    open.removeValue(forKey: number)
                } else {
                    open[number] = record
                }
            }
        }
    }

    /// The header that says what a record is: `block` (a block produced for the first time, or
    /// again after a crash), `status` (a finality transition) or `retraction`.
    static let kindHeader = TributaryRecordHeader.recordKind

    /// Reads the history of `source` from the partition of `raw-events` that holds `key`.
    ///
    /// Blocks are first produced in ascending order (a reorg's new branch starts above the
    /// finalized block) and every later record of a block comes after its first. So once a first
    /// production of a block at or below the newest block already reported `finalized` has been
    /// read, everything that can still change has been read too. On a chain without a finalized
    /// tag (`chainFinalizes == false`) the reorg window bounds it instead.
    static func read(
        from log: any EventLog, topic: String, key: String, source: String, window: Int, chainFinalizes: Bool,
        chunk: Int64 = 2_000
    ) async throws -> EmittedHistory {
        let description = try await log.describeTopic(topic)
        let partition = Murmur2Partitioner.partition(
            forKey: Array(key.utf8), partitionCount: description.partitions.count)
        guard let offsets = description.partitions.first(where: { $0.partition == partition }) else {
            return EmittedHistory()
        }
        // Chunks read backwards, kept in produced order.
        var chunks: [[(record: Tributary_V1_RawBlockRecord, kind: String?)]] = []
        var newest: UInt64?
        var finalized: UInt64?
        var upper = offsets.endOffset
        reading: while upper > offsets.startOffset {
            let lower = max(offsets.startOffset, upper - chunk)
            let records = try await readRange(
                log: log, partition: TopicPartition(topic: topic, partition: partition), lower..<upper, source: source)
            chunks.insert(records, at: 0)
            upper = lower
            for (record, _) in records where !record.removed {
                newest = max(newest ?? 0, record.block.number)
                if record.status == .finalized { finalized = max(finalized ?? 0, record.block.number) }
            }
            let bound: UInt64? =
                chainFinalizes ? finalized : newest.map { $0 > UInt64(window) ? $0 - UInt64(window) : 0 }
            guard let bound else { continue }
            for (record, kind) in records
            where kind == TributaryRecordHeader.RecordKind.block && !record.removed && record.block.number <= bound {
                break reading
            }
        }
        var history = EmittedHistory()
        history.replay(chunks.joined().map(\.record))
        return history
    }

    private static func readRange(
        log: any EventLog, partition: TopicPartition, _ range: Range<Int64>, source: String
    ) async throws -> [(record: Tributary_V1_RawBlockRecord, kind: String?)] {
        let reader = try await log.makeReader(from: [partition: .offset(range.lowerBound)])
        defer { Task { await reader.close() } }
        var records: [(record: Tributary_V1_RawBlockRecord, kind: String?)] = []
        var idlePolls = 0
        reading: while true {
            let batch = try await reader.poll(maxRecords: 1_000, timeout: .seconds(1))
            idlePolls = batch.isEmpty ? idlePolls + 1 : 0
            if idlePolls >= 30 {
                throw ChainAdapterError(
                    .unavailable,
                    "cannot read back \(partition) offsets \(range) of the log to resume; is it reachable?")
            }
            for record in batch {
                guard record.offset < range.upperBound else { break reading }
                if let value = record.value,
                    let raw = try? RecordEncoding.decode(
                        Tributary_V1_RawBlockRecord.self, from: value, contentType: record.contentType),
                    raw.source == source
                {
                    records.append(
                        (raw, record.headers.last(named: kindHeader).flatMap { String(decoding: $0, as: UTF8.self) }))
                }
                if record.offset == range.upperBound - 1 { break reading }
            }
        }
        return records
    }
}
