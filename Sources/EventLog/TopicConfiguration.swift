/// How a topic is created: partitions, cleanup policy and retention.
public struct TopicConfiguration: Sendable, Hashable {
    /// The topic name.
    public var name: String
    /// The number of partitions. Default: 3.
    public var partitions: Int
    /// Whether the log keeps only the latest value per key (tombstones delete). Default: `false`.
    public var compacted: Bool
    /// Records older than this may be deleted. Default: `nil` (kept forever; compacted topics ignore it).
    public var retentionAge: Duration?
    /// When a partition holds more than this many bytes, its oldest records may be deleted. Default: `nil` (no limit).
    public var retentionBytes: Int64?

    /// Creates a topic configuration.
    public init(
        name: String, partitions: Int = 3, compacted: Bool = false, retentionAge: Duration? = nil,
        retentionBytes: Int64? = nil
    ) {
        self.name = name
        self.partitions = partitions
        self.compacted = compacted
        self.retentionAge = retentionAge
        self.retentionBytes = retentionBytes
    }

    /// The retention age in milliseconds, as Kafka's `retention.ms`.
    public var retentionMilliseconds: Int64? {
        retentionAge?.wholeMilliseconds
    }
}
