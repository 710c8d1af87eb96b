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
/// `idleGap` (or, under sustained load, after `maximumDelay`). A PASSIVE checkpoint takes no lock
/// the writer or the readers wait for; once it has copied everything, SQLite writes the WAL from
/// its start again at the next append that finds no reader in it, so the file stays bounded.
/// Under appends that never pause, new frames keep arriving behind each checkpoint and the WAL
/// cannot start over; past ``blockingThresholdPages`` the checkpointer therefore takes the write
/// lock once (a TRUNCATE checkpoint: appends wait for it) and the file starts again from zero.
final class EmbeddedLogCheckpointer: Sendable {
    private struct State {
        var lastAppend = ContinuousClock.now
        var appendedSinceCheckpoint = false
        var started = false
        var stopRequested = false
    }
    /// WAL pages (4 KiB each by default) past which a checkpoint may make appends wait: 64 MiB.
    static let blockingThresholdPages = 16_384

    private let database: DatabaseQueue
    private let idleGap: Duration
    private let maximumDelay: Duration
    private let logger: Logger
    private let state = Mutex(State())
    private let wakeup = DispatchSemaphore(value: 0)
    private let stopped = DispatchSemaphore(value: 0)

    /// Opens the checkpointer's own connection to the log at `path`.
    init(path: String, idleGap: Duration, maximumDelay: Duration, logger: Logger) throws {
        var configuration = Configuration()
        configuration.label = "tributary.embedded-log.checkpointer"
        // Only the TRUNCATE checkpoint waits for locks, for the writer's commit in progress.
        configuration.busyMode = .timeout(10)
        self.database = try DatabaseQueue(path: path, configuration: configuration)
        self.idleGap = max(idleGap, .milliseconds(1))
        self.maximumDelay = max(maximumDelay, self.idleGap)
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

    /// Called by the writer after each commit.
    func noteAppend() {
        state.withLock { state in
            state.lastAppend = .now
            state.appendedSinceCheckpoint = true
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
        var lastCheckpoint = ContinuousClock.now
        let tick = Int(max(idleGap / 2, .milliseconds(1)).wholeMilliseconds)
        while true {
            _ = wakeup.wait(timeout: DispatchTime.now() + .milliseconds(tick))
            let now = ContinuousClock.now
            let due = state.withLock { state -> Bool? in
                guard !state.stopRequested else { return nil }
                guard state.appendedSinceCheckpoint,
                    now - state.lastAppend >= idleGap || now - lastCheckpoint >= maximumDelay
                else { return false }
                state.appendedSinceCheckpoint = false
                return true
            }
            guard let due else { break }
            guard due else { continue }
            lastCheckpoint = now
            do {
                try database.writeWithoutTransaction { db in
                    let (walPages, _) = try db.checkpoint(.passive)
                    if walPages > Self.blockingThresholdPages { try db.checkpoint(.truncate) }
                }
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
