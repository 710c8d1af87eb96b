import Dispatch
import EventLog
import Foundation
import GRDB
import Logging
import Synchronization

/// Copies the write-ahead log into the database file between bursts of appends, not inside them.
///
/// SQLite's automatic checkpoint runs within the commit that takes the WAL past 1,000 pages, so
/// every few hundred appends one waited for the whole copy and its fsync, and with it every stage
/// behind it. The log's connections therefore have the automatic checkpoint off, and this thread
/// runs a PASSIVE checkpoint on a connection of its own once the writer has been idle for
/// `idleGap`: between a chain's blocks. A PASSIVE checkpoint takes no lock the writer or the
/// readers wait for; once it has copied everything, SQLite writes the WAL from its start again at
/// the next append, so the file stays bounded.
///
/// Appends that never pause leave no gap, and a checkpoint beside them never catches up with the
/// frames they add, so the WAL could not start over. After `inlineAfterBytes` of records without
/// a checkpoint, the writer therefore runs one itself right after a commit (``inlineCheckpointDue()``),
/// as SQLite's automatic checkpoint would, and its next append starts the WAL over.
final class EmbeddedLogCheckpointer: Sendable {
    private struct State {
        var lastAppend = ContinuousClock.now
        var appendedSinceCheckpoint = false
        /// Record bytes appended since the WAL last started over, as far as the checkpoints tell.
        var bytesSinceCheckpoint = 0
        var started = false
        var stopRequested = false
    }

    /// SQLite's own automatic checkpoint size, in pages.
    static let smallWALPages = 1_000

    private let database: DatabaseQueue
    private let idleGap: Duration
    private let inlineAfterBytes: Int
    private let logger: Logger
    private let state = Mutex(State())
    private let wakeup = DispatchSemaphore(value: 0)
    private let stopped = DispatchSemaphore(value: 0)

    /// Opens the checkpointer's own connection to the log at `path`.
    init(path: String, idleGap: Duration, inlineAfterBytes: Int, logger: Logger) throws {
        var configuration = Configuration()
        configuration.label = "tributary.embedded-log.checkpointer"
        self.database = try DatabaseQueue(path: path, configuration: configuration)
        self.idleGap = max(idleGap, .milliseconds(1))
        self.inlineAfterBytes = max(inlineAfterBytes, 1)
        self.logger = logger
    }

    /// Starts the checkpoint thread.
    func start() {
        state.withLock { $0.started = true }
        let thread = Thread { [self] in run() }
        thread.name = "tributary-embedded-log-checkpointer"
        thread.start()
    }

    /// Runs a PASSIVE checkpoint now, beside the thread's own; returns the frames in the WAL.
    func checkpointNow() throws -> Int {
        try database.writeWithoutTransaction { try $0.checkpoint(.passive).walFrameCount }
    }

    /// Called by the writer after each commit of `bytes` of records.
    func noteAppend(bytes: Int) {
        state.withLock { state in
            state.lastAppend = .now
            state.appendedSinceCheckpoint = true
            state.bytesSinceCheckpoint += bytes
        }
    }

    /// Whether the writer should checkpoint now, on its own connection, because appends have not
    /// paused for long enough; if so, counts it as begun.
    func inlineCheckpointDue() -> Bool {
        state.withLock { state in
            guard state.bytesSinceCheckpoint >= inlineAfterBytes else { return false }
            state.bytesSinceCheckpoint = 0
            state.appendedSinceCheckpoint = false
            return true
        }
    }

    /// Stops the thread after the checkpoint in progress, if any; returns once it has stopped.
    func stop() async {
        let running = state.withLock { state in
            defer { state.stopRequested = true }
            return state.started && !state.stopRequested
        }
        guard running else { return }
        wakeup.signal()
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            DispatchQueue.global().async {
                self.stopped.wait()
                continuation.resume()
            }
        }
    }

    private func run() {
        let tick = Int(max(idleGap / 2, .milliseconds(1)).wholeMilliseconds)
        while true {
            _ = wakeup.wait(timeout: DispatchTime.now() + .milliseconds(tick))
            let now = ContinuousClock.now
            let due = state.withLock { state -> Bool? in
                guard !state.stopRequested else { return nil }
                guard state.appendedSinceCheckpoint, now - state.lastAppend >= idleGap else { return false }
                state.appendedSinceCheckpoint = false
                return true
            }
            guard let due else { break }
            guard due else { continue }
            do {
                let walPages = try database.writeWithoutTransaction { try $0.checkpoint(.passive).walFrameCount }
                // A small WAL means it has been starting over; a large one, that appends kept
                // arriving behind the checkpoints, so the count toward the writer's own goes on.
                if walPages <= Self.smallWALPages { state.withLock { $0.bytesSinceCheckpoint = 0 } }
            } catch let error as DatabaseError where error.resultCode == .SQLITE_BUSY {
                // Another process's checkpointer is at work on the same log; it does the copying.
            } catch {
                logger.warning("embedded log checkpoint failed; retrying", metadata: ["reason": "\(error)"])
                state.withLock { $0.appendedSinceCheckpoint = true }
            }
        }
        stopped.signal()
    }
}
