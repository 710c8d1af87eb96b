/// Settings of the embedded log.
public struct EmbeddedLogConfiguration: Sendable, Hashable {
    /// How hard SQLite works to make a commit durable.
    public enum Durability: String, Sendable, Hashable, CaseIterable {
        /// `synchronous=FULL`: every acknowledged batch is on disk, surviving power loss.
        case full
        /// `synchronous=NORMAL`: survives a process crash (kill -9), may lose the last batches on power loss.
        case normal
    }

    /// The data directory; the log is `log.sqlite` inside it. Default: `./.tributary`.
    public var directory: String
    /// Durability of acknowledged appends. Default: `.full`.
    public var durability: Durability
    /// The most records written in one transaction. Default: 20,000.
    public var maximumBatchRecords: Int
    /// How often retention and compaction run. Default: 30 seconds.
    public var maintenanceInterval: Duration
    /// How long a tombstone stays in a compacted topic before compaction removes it (the latest
    /// record of a partition always stays). Default: 24 hours.
    public var tombstoneRetention: Duration
    /// How often an idle reader checks for records appended by another process. Default: 50 ms.
    public var crossProcessPollInterval: Duration
    /// How long the writer must have been idle before the write-ahead log is copied into the
    /// database file, on a thread of its own so that no append waits for it. Default: 20 ms.
    public var checkpointIdleGap: Duration
    /// Under appends that do not pause, the writer copies the WAL itself (as SQLite would) after
    /// this many bytes of records without a copy. Default: 16 MiB.
    public var checkpointInlineBytes: Int

    /// Creates a configuration.
    public init(
        directory: String = "./.tributary", durability: Durability = .full, maximumBatchRecords: Int = 20_000,
        maintenanceInterval: Duration = .seconds(30), tombstoneRetention: Duration = .seconds(86_400),
        crossProcessPollInterval: Duration = .milliseconds(50), checkpointIdleGap: Duration = .milliseconds(20),
        checkpointInlineBytes: Int = 16 << 20
    ) {
        self.directory = directory
        self.durability = durability
        self.maximumBatchRecords = maximumBatchRecords
        self.maintenanceInterval = maintenanceInterval
        self.tombstoneRetention = tombstoneRetention
        self.crossProcessPollInterval = crossProcessPollInterval
        self.checkpointIdleGap = checkpointIdleGap
        self.checkpointInlineBytes = checkpointInlineBytes
    }
}
