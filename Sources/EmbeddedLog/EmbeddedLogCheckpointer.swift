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
        /// When the writer last finished writing.
        var lastWrite = ContinuousClock.now
        var wroteSinceCheckpoint = false
        /// The writer is committing: not idle, however long ago its last commit ended.
        var writerBusy = false
        /// Record bytes appended since the WAL was last copied in full.
        var bytesSinceCheckpoint = 0
        var started = false
        var stopRequested = false
    }

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

    /// Called by the writer before it commits a batch of appends.
    func writerBegins() {
        state.withLock { $0.writerBusy = true }
    }

    /// Called by the writer after each commit (or failed commit) of appends.
    func writerEnds(appendedBytes: Int) {
        state.withLock { state in
            state.writerBusy = false
            state.bytesSinceCheckpoint += appendedBytes
        }
        noteWrite()
    }

    /// Called after any write to the log: appends, offset commits, maintenance.
    func noteWrite() {
        state.withLock { state in
            state.lastWrite = .now
            state.wroteSinceCheckpoint = true
        }
        wakeup.signal()
    }

    /// Whether the writer should checkpoint now, on its own connection, because appends have not
    /// paused for long enough; if so, counts it as done.
    func inlineCheckpointDue() -> Bool {
        state.withLock { state in
            guard state.bytesSinceCheckpoint >= inlineAfterBytes else { return false }
            state.bytesSinceCheckpoint = 0
            state.wroteSinceCheckpoint = false
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

    private enum Next {
        case stop
        /// Nothing written since the last checkpoint: sleep until the writer says otherwise.
        case sleep
        case wait(Duration)
        case checkpoint
    }

    private func run() {
        var next = Next.sleep
        while true {
            switch next {
            case .stop:
                stopped.signal()
                return
            case .sleep:
                wakeup.wait()
            case .wait(let duration):
                let milliseconds = max(1, Int(duration.wholeMilliseconds))
                _ = wakeup.wait(timeout: DispatchTime.now() + .milliseconds(milliseconds))
            case .checkpoint:
                checkpoint()
            }
            let now = ContinuousClock.now
            next = state.withLock { state -> Next in
                if state.stopRequested { return .stop }
                guard state.wroteSinceCheckpoint else { return .sleep }
                if state.writerBusy { return .wait(idleGap) }
                let idle = now - state.lastWrite
                guard idle >= idleGap else { return .wait(idleGap - idle) }
                state.wroteSinceCheckpoint = false
                return .checkpoint
            }
        }
    }

    private func checkpoint() {
        do {
            let (walPages, copied) = try database.writeWithoutTransaction { try $0.checkpoint(.passive) }
            // Copied in full: the next append starts the WAL over, so the writer need not copy it.
            if copied == walPages { state.withLock { $0.bytesSinceCheckpoint = 0 } }
        } catch let error as DatabaseError where error.resultCode == .SQLITE_BUSY {
            // Another process's checkpointer is at work on the same log; it does the copying.
        } catch {
            logger.warning("embedded log checkpoint failed; retrying", metadata: ["reason": "\(error)"])
            state.withLock { $0.wroteSinceCheckpoint = true }
        }
    }
}
