import Dispatch
import EventLog
import Foundation
import GRDB
import Logging
import Synchronization

/// The one writer of the embedded log: a dedicated thread that gathers every append waiting
/// at the moment and commits them in one transaction (group commit), then acknowledges them.
/// SQLite's write lock makes appends from other processes safe; offsets come from the
/// `partitions` table inside the transaction.
final class EmbeddedLogWriter: Sendable {
    /// A record bound to its stored topic and partition.
    struct Placement: Sendable {
        var record: OutgoingRecord
        var topicID: Int64
        var partition: Int
    }

    private struct PendingAppend {
        var placements: [Placement]
        var continuation: CheckedContinuation<[RecordPosition], any Error>
    }

    private struct State {
        var pending: [PendingAppend] = []
        var maintenanceRequests: [(asOf: Int64?, continuation: CheckedContinuation<Void, any Error>)] = []
        var stopRequested = false
        var stopWaiters: [CheckedContinuation<Void, Never>] = []
        var running = false
        var finished = false
    }

    private let database: DatabasePool
    private let configuration: EmbeddedLogConfiguration
    private let changes: ChangeSignal
    private let checkpointer: EmbeddedLogCheckpointer
    private let maintenance: @Sendable (Database, _ nowMilliseconds: Int64) throws -> Void
    private let logger: Logger
    private let state = Mutex(State())
    private let wakeup = DispatchSemaphore(value: 0)

    init(
        database: DatabasePool, configuration: EmbeddedLogConfiguration, changes: ChangeSignal,
        checkpointer: EmbeddedLogCheckpointer, logger: Logger,
        maintenance: @escaping @Sendable (Database, _ nowMilliseconds: Int64) throws -> Void
    ) {
        self.logger = logger
        self.database = database
        self.configuration = configuration
        self.changes = changes
        self.checkpointer = checkpointer
        self.maintenance = maintenance
    }

    /// Starts the writer thread.
    func start() {
        state.withLock { $0.running = true }
        let thread = Thread { [self] in run() }
        thread.name = "tributary-embedded-log-writer"
        thread.start()
    }

    /// Appends placements; returns once they are committed.
    func append(_ placements: [Placement]) async throws -> [RecordPosition] {
        try await withCheckedThrowingContinuation { continuation in
            let accepted = state.withLock { state in
                guard state.running, !state.stopRequested else { return false }
                state.pending.append(PendingAppend(placements: placements, continuation: continuation))
                return true
            }
            if accepted {
                wakeup.signal()
            } else {
                continuation.resume(throwing: EventLogError(.closed, "the embedded log is shut down"))
            }
        }
    }

    /// Runs retention and compaction now, on the writer thread, as of `asOf` milliseconds since
    /// 1970 (default: the current time).
    ///
    /// - Throws: `.closed` once the log is shutting down.
    func runMaintenance(asOf: Int64? = nil) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let accepted = state.withLock { state in
                guard state.running, !state.stopRequested else { return false }
                state.maintenanceRequests.append((asOf, continuation))
                return true
            }
            if accepted {
                wakeup.signal()
            } else {
                continuation.resume(throwing: EventLogError(.closed, "the embedded log is shut down"))
            }
        }
    }

    /// Finishes the appends already accepted, then stops the thread. Every caller returns once
    /// the thread has stopped.
    func stop() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let finished = state.withLock { state in
                guard !state.finished, state.running else { return true }
                state.stopRequested = true
                state.stopWaiters.append(continuation)
                return false
            }
            if finished { continuation.resume() } else { wakeup.signal() }
        }
    }

    private func run() {
        // A zero interval would make the loop spin; maintenance never runs more often than this.
        let interval = max(configuration.maintenanceInterval, .milliseconds(100))
        let intervalMilliseconds = Int(min(interval, .seconds(86_400 * 365)).wholeMilliseconds)
        var lastMaintenance = ContinuousClock.now
        while true {
            _ = wakeup.wait(timeout: DispatchTime.now() + .milliseconds(intervalMilliseconds))
            let (pending, maintenanceRequests, stopping) = state.withLock { state in
                defer {
                    state.pending.removeAll()
                    state.maintenanceRequests.removeAll()
                }
                return (state.pending, state.maintenanceRequests, state.stopRequested)
            }
            if !pending.isEmpty { checkpointer.writerBegins() }
            commitInChunks(pending)
            if ContinuousClock.now - lastMaintenance >= interval {
                lastMaintenance = ContinuousClock.now
                do {
                    try database.write { try maintenance($0, Self.nowMilliseconds()) }
                    checkpointer.noteWrite()
                } catch {
                    logger.error("embedded log maintenance failed: \(error)")
                }
            }
            for request in maintenanceRequests {
                let now = request.asOf ?? Self.nowMilliseconds()
                request.continuation.resume(with: Result { try database.write { try maintenance($0, now) } })
                checkpointer.noteWrite()
            }
            if stopping {
                finish()
                return
            }
        }
    }

    /// Marks the writer finished and answers everything still waiting on it.
    private func finish() {
        let (appends, maintenanceRequests, stopWaiters) = state.withLock { state in
            defer {
                state.pending.removeAll()
                state.maintenanceRequests.removeAll()
                state.stopWaiters.removeAll()
                state.running = false
                state.finished = true
            }
            return (state.pending, state.maintenanceRequests, state.stopWaiters)
        }
        let closed = EventLogError(.closed, "the embedded log is shut down")
        for append in appends { append.continuation.resume(throwing: closed) }
        for request in maintenanceRequests { request.continuation.resume(throwing: closed) }
        for waiter in stopWaiters { waiter.resume() }
    }

    private static func nowMilliseconds() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }

    private func commitInChunks(_ pending: [PendingAppend]) {
        var chunk: [PendingAppend] = []
        var count = 0
        for append in pending {
            chunk.append(append)
            count += append.placements.count
            if count >= configuration.maximumBatchRecords {
                commit(chunk)
                chunk.removeAll()
                count = 0
            }
        }
        if !chunk.isEmpty { commit(chunk) }
    }

    private func commit(_ chunk: [PendingAppend]) {
        let timestamp = Int64(Date().timeIntervalSince1970 * 1000)
        do {
            let positions = try database.writeWithoutTransaction { db in
                var positions: [[RecordPosition]] = []
                try db.inTransaction(.immediate) {
                    positions = try insert(chunk, timestamp: timestamp, into: db)
                    return .commit
                }
                return positions
            }
            changes.notify(topics: ChangeSignal.distinct(chunk.lazy.flatMap(\.placements).map(\.record.topic)))
            for (append, positions) in zip(chunk, positions) { append.continuation.resume(returning: positions) }
            let bytes = chunk.lazy.flatMap(\.placements).reduce(0) {
                $0 + ($1.record.key?.count ?? 0) + ($1.record.value?.count ?? 0)
            }
            checkpointer.writerEnds(appendedBytes: bytes)
            if checkpointer.inlineCheckpointDue() {
                // Appends have not paused: copy the WAL before the next commit so it can start over.
                do {
                    _ = try database.writeWithoutTransaction { try $0.checkpoint(.passive) }
                } catch let error as DatabaseError where error.resultCode == .SQLITE_BUSY {
                    // The checkpointer thread (or another process's) is copying it already.
                } catch {
                    logger.warning("embedded log checkpoint failed", metadata: ["reason": "\(error)"])
                }
            }
        } catch {
            checkpointer.writerEnds(appendedBytes: 0)
            let failure = EventLogError(.io, "appending to the embedded log failed: \(error)")
            for append in chunk { append.continuation.resume(throwing: failure) }
        }
    }

    private struct PartitionKey: Hashable {
        var topicID: Int64
        var partition: Int
    }

    private func insert(_ chunk: [PendingAppend], timestamp: Int64, into db: Database) throws -> [[RecordPosition]] {
        var nextOffsets: [PartitionKey: Int64] = [:]
        let readNext = try db.cachedStatement(
            sql: "SELECT next_offset FROM partitions WHERE topic_id = ? AND partition = ?")
        let insertRecord = try db.cachedStatement(
            sql: """
                INSERT INTO records(topic_id, partition, offset, timestamp_ms, key, value, headers)
                VALUES (?, ?, ?, ?, ?, ?, ?)
                """)
        var result: [[RecordPosition]] = []
        result.reserveCapacity(chunk.count)
        for append in chunk {
            var positions: [RecordPosition] = []
            positions.reserveCapacity(append.placements.count)
            for placement in append.placements {
                let key = PartitionKey(topicID: placement.topicID, partition: placement.partition)
                let offset: Int64
                if let next = nextOffsets[key] {
                    offset = next
                } else {
                    guard let stored = try Int64.fetchOne(readNext, arguments: [key.topicID, key.partition]) else {
                        throw EventLogError(
                            .corrupt, "partition \(placement.record.topic)[\(key.partition)] is missing")
                    }
                    offset = stored
                }
                nextOffsets[key] = offset + 1
                let record = placement.record
                insertRecord.setUncheckedArguments([
                    key.topicID, key.partition, offset, timestamp,
                    record.key.map { Data($0) }, record.value.map { Data($0) },
                    EmbeddedLogSchema.encodeHeaders(record.headers).map { Data($0) },
                ])
                try insertRecord.execute()
                positions.append(RecordPosition(topic: record.topic, partition: key.partition, offset: offset))
            }
            result.append(positions)
        }
        let updateNext = try db.cachedStatement(
            sql: "UPDATE partitions SET next_offset = ? WHERE topic_id = ? AND partition = ?")
        for (key, next) in nextOffsets {
            try updateNext.execute(arguments: [next, key.topicID, key.partition])
        }
        return result
    }
}
