import EventLog
import Logging

/// How ``KafkaEventLog`` talks to a Kafka cluster through librdkafka.
///
/// Every field has a default suited to a production cluster; tests against the mock cluster
/// shorten the timeouts. The keyed partitioner is fixed to `murmur2_random` so keys land on the
/// partitions the Java and Go clients (and ``Murmur2Partitioner``) choose.
public struct KafkaConfiguration: Sendable {
    /// How many replicas must acknowledge an append before it counts as stored.
    public enum Acknowledgements: String, Sendable {
        /// Every in-sync replica (`acks=all`).
        case all
        /// The partition leader only (`acks=1`).
        case leader
        /// Nobody (`acks=0`): appends complete as soon as they are sent.
        case none

        var propertyValue: String {
            switch self {
            case .all: "all"
            case .leader: "1"
            case .none: "0"
            }
        }
    }

    /// The keyed partitioner every producer uses; not configurable. Kafka's Java client, franz-go
    /// and ``Murmur2Partitioner`` map keys the same way.
    public static let partitioner = "murmur2_random"

    /// librdkafka properties that ``extraProperties`` may not set, because the log's contract
    /// depends on them (partitioning, explicit commits, group membership).
    public static let reservedProperties: Set<String> = [
        "partitioner", "group.id", "enable.auto.commit", "enable.auto.offset.store", "bootstrap.servers",
    ]

    /// Comma-separated `host:port` list of brokers to bootstrap from. Default: `"localhost:9092"`.
    public var bootstrapServers: String
    /// The client id brokers see in their logs and quotas. Default: `"tributary"`.
    public var clientID: String
    /// Which replicas acknowledge an append. Default: `.all`.
    public var acknowledgements: Acknowledgements
    /// Whether the producer is idempotent (no duplicates or reordering on retries). Requires
    /// `.all` acknowledgements. Default: `true`.
    public var idempotence: Bool
    /// How long the producer waits to fill a batch before sending it (`linger.ms`). Default: 5 ms.
    public var linger: Duration
    /// The most records the producer queues before ``KafkaEventLog/append(_:)`` waits for room
    /// (`queue.buffering.max.messages`). Default: 100,000.
    public var maxQueuedMessages: Int
    /// The most kilobytes the producer queues before appends wait for room
    /// (`queue.buffering.max.kbytes`). Bounds producer memory under sustained load. Default: 65,536 (64 MiB).
    public var maxQueuedKilobytes: Int
    /// How long a record may wait for acknowledgement, retries included, before its append fails
    /// with `.timeout` (`message.timeout.ms`). Default: 60 s.
    public var messageTimeout: Duration
    /// How long a group member may go silent before the group reassigns its partitions
    /// (`session.timeout.ms`). Default: 45 s.
    public var sessionTimeout: Duration
    /// How long metadata, offset, commit and admin requests may take before failing
    /// (`.unavailable` when no broker answered, `.timeout` otherwise). Default: 10 s.
    public var operationTimeout: Duration
    /// How often librdkafka reports statistics, which become swift-metrics gauges
    /// (`statistics.interval.ms`); `.zero` turns them off. Default: 30 s.
    public var statisticsInterval: Duration
    /// The replication factor of topics ``KafkaEventLog/createTopic(_:)`` creates; `-1` uses the
    /// broker's `default.replication.factor`. Default: `-1`.
    public var replicationFactor: Int
    /// How long ``KafkaEventLog/shutdown()`` waits for queued records to be acknowledged. Default: 10 s.
    public var shutdownFlushTimeout: Duration
    /// Further librdkafka properties applied to every client handle (producer and consumers), for
    /// example `security.protocol` or `reconnect.backoff.max.ms`. Keys in ``reservedProperties``
    /// are rejected. Default: empty.
    public var extraProperties: [String: String]

    /// Creates a configuration; every parameter defaults as documented on its property.
    public init(
        bootstrapServers: String = "localhost:9092",
        clientID: String = "tributary",
        acknowledgements: Acknowledgements = .all,
        idempotence: Bool = true,
        linger: Duration = .milliseconds(5),
        maxQueuedMessages: Int = 100_000,
        maxQueuedKilobytes: Int = 65_536,
        messageTimeout: Duration = .seconds(60),
        sessionTimeout: Duration = .seconds(45),
        operationTimeout: Duration = .seconds(10),
        statisticsInterval: Duration = .seconds(30),
        replicationFactor: Int = -1,
        shutdownFlushTimeout: Duration = .seconds(10),
        extraProperties: [String: String] = [:]
    ) {
        self.bootstrapServers = bootstrapServers
        self.clientID = clientID
        self.acknowledgements = acknowledgements
        self.idempotence = idempotence
        self.linger = linger
        self.maxQueuedMessages = maxQueuedMessages
        self.maxQueuedKilobytes = maxQueuedKilobytes
        self.messageTimeout = messageTimeout
        self.sessionTimeout = sessionTimeout
        self.operationTimeout = operationTimeout
        self.statisticsInterval = statisticsInterval
        self.replicationFactor = replicationFactor
        self.shutdownFlushTimeout = shutdownFlushTimeout
        self.extraProperties = extraProperties
    }
}

extension KafkaConfiguration {
    /// Properties every handle gets: brokers, identity, logging and statistics.
    func commonProperties(logLevel: Logger.Level) throws -> [(String, String)] {
        if let reserved = extraProperties.keys.first(where: { Self.reservedProperties.contains($0) }) {
            throw EventLogError(
                .invalidArgument,
                "'\(reserved)' cannot be set through extraProperties: use the dedicated KafkaConfiguration field"
                    + " or leave it to KafkaEventLog")
        }
        var properties = [
            ("bootstrap.servers", bootstrapServers),
            ("client.id", clientID),
            ("log_level", String(Self.syslogLevel(for: logLevel))),
            ("statistics.interval.ms", String(statisticsInterval.milliseconds)),
            // Nagle's algorithm with delayed ACKs holds small requests ~40 ms; each append waits
            // for its acknowledgement, so that delay would cap a producer at ~25 appends/s.
            ("socket.nagle.disable", "true"),
        ]
        properties += extraProperties.sorted(by: { $0.key < $1.key }).map { ($0.key, $0.value) }
        return properties
    }

    /// Properties of the producer handle.
    func producerProperties(logLevel: Logger.Level) throws -> [(String, String)] {
        let producer = [
            ("acks", acknowledgements.propertyValue),
            ("enable.idempotence", idempotence ? "true" : "false"),
            ("partitioner", Self.partitioner),
            ("linger.ms", String(linger.milliseconds)),
            ("queue.buffering.max.messages", String(maxQueuedMessages)),
            ("queue.buffering.max.kbytes", String(maxQueuedKilobytes)),
            ("message.timeout.ms", String(messageTimeout.milliseconds)),
        ]
        return producer + (try commonProperties(logLevel: logLevel))
    }

    /// Properties of a consumer handle in `group`; `autoOffsetReset` is `earliest` or `latest`.
    func consumerProperties(
        group: String, autoOffsetReset: String, logLevel: Logger.Level
    ) throws
        -> [(String, String)]
    {
        let consumer = [
            ("group.id", group),
            ("enable.auto.commit", "false"),
            ("enable.auto.offset.store", "false"),
            ("enable.partition.eof", "false"),
            ("auto.offset.reset", autoOffsetReset),
            ("session.timeout.ms", String(sessionTimeout.milliseconds)),
            // Kafka's 3 s default, shortened when the session timeout is short.
            ("heartbeat.interval.ms", String(max(100, min(3000, sessionTimeout.milliseconds / 3)))),
            // Eager assignment: the 2.0.2 mock handles cooperative rebalances badly (see notes).
            ("partition.assignment.strategy", "range"),
        ]
        return consumer + (try commonProperties(logLevel: logLevel))
    }

    /// librdkafka's syslog-style level for a swift-log level.
    static func syslogLevel(for level: Logger.Level) -> Int {
        switch level {
        case .trace, .debug: 7
        case .info: 6
        case .notice: 5
        case .warning: 4
        case .error: 3
        case .critical: 2
        }
    }
}

extension Duration {
    /// Whole milliseconds, rounded down, as librdkafka's `*.ms` properties and timeouts want.
    var milliseconds: Int {
        Int(wholeMilliseconds)
    }

    /// Milliseconds clamped to librdkafka's `int` timeout parameters.
    var timeoutMilliseconds: Int32 { Int32(clamping: max(0, milliseconds)) }
}
