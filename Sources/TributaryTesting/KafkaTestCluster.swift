import EventLog
import KafkaLog
import Logging
import Synchronization

/// A librdkafka mock cluster (3 brokers, in this process) with test-friendly client settings,
/// as an ``EventLogSubject`` for the conformance suite and as brokers for `kcat`.
public final class KafkaTestCluster: Sendable {
    /// The mock brokers, for clients such as `kcat -b`.
    public var bootstrapServers: String { cluster.bootstrapServers }
    /// The settings ``openLog(_:)`` starts from: the mock's brokers, 1 ms linger, a 6 s session
    /// timeout, a 30 s message timeout, reconnects and metadata refreshes within 1 s, and
    /// statistics every 5 s.
    public let configuration: KafkaConfiguration
    /// The mock cluster itself (brokers down and up, topics).
    package let cluster: KafkaMockCluster
    private let logger: Logger

    /// Starts a mock cluster with `brokerCount` brokers; librdkafka logs at warning and above.
    public init(brokerCount: Int = 3) throws {
        var logger = Logger(label: "tributary.kafka.test")
        logger.logLevel = .warning
        self.logger = logger
        cluster = try KafkaMockCluster(brokerCount: brokerCount, logger: logger)
        configuration = KafkaConfiguration(
            bootstrapServers: cluster.bootstrapServers,
            clientID: "tributary-test",
            linger: .milliseconds(1),
            messageTimeout: .seconds(30),
            sessionTimeout: .seconds(6),
            operationTimeout: .seconds(10),
            statisticsInterval: .seconds(5),
            shutdownFlushTimeout: .seconds(10),
            extraProperties: ["reconnect.backoff.max.ms": "1000", "topic.metadata.refresh.interval.ms": "1000"])
    }

    /// Opens a ``KafkaEventLog`` on the cluster with ``configuration``, changed by `adjust`.
    public func openLog(_ adjust: (inout KafkaConfiguration) -> Void = { _ in }) throws -> KafkaEventLog {
        var configuration = configuration
        adjust(&configuration)
        return try KafkaEventLog(configuration: configuration, logger: logger)
    }

    /// Creates a topic in the mock (which does not support admin CreateTopics) with replication
    /// factor 3 (or the broker count, if smaller). Compaction and retention are not simulated.
    public func createTopic(_ topic: TopicConfiguration) async throws {
        try await cluster.createTopic(
            topic.name, partitions: topic.partitions, replicationFactor: min(3, cluster.brokerCount))
    }

    /// Takes every broker down (`true`) or brings them back (`false`).
    public func setAllBrokersDown(_ down: Bool) async throws {
        if down { try await cluster.setBrokerDown(-1) } else { try await cluster.setBrokerUp(-1) }
    }

    /// Stops the brokers.
    public func close() async {
        await cluster.close()
    }

    /// A fresh mock cluster as a conformance subject: every `openLog` is a new ``KafkaEventLog``,
    /// topics go through the mock API, and tear-down shuts the logs down and stops the brokers.
    public static func makeSubject() throws -> EventLogSubject {
        let cluster = try KafkaTestCluster()
        let logs = LogRegistry()
        return EventLogSubject(
            openLog: {
                let log = try cluster.openLog()
                logs.add(log)
                return log
            },
            createTopic: { try await cluster.createTopic($0) },
            tearDown: {
                for log in logs.all { try? await log.shutdown() }
                await cluster.close()
            })
    }
}

/// The logs a subject opened, so tear-down can shut down those a failed check left open.
private final class LogRegistry: Sendable {
    private let logs = Mutex<[KafkaEventLog]>([])

    func add(_ log: KafkaEventLog) { logs.withLock { $0.append(log) } }

    var all: [KafkaEventLog] { logs.withLock { $0 } }
}
