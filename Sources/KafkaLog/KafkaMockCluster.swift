import CRdKafka
import Dispatch
import EventLog
import Logging
import Synchronization

/// librdkafka's built-in mock Kafka cluster, in this process, for tests, benchmarks and demos.
///
/// Real clients (``KafkaEventLog``, `kcat`, other processes) connect to ``bootstrapServers``.
/// Known limits of the 2.0.2 mock: no admin CreateTopics (use ``createTopic(_:partitions:replicationFactor:)``),
/// topics requested by name are auto-created with 4 partitions, each partition keeps only the
/// last 5 MiB, group joins take about 3 s and rebalances about 5 s.
///
/// - Important: Call ``close()`` when done (`deinit` does it otherwise, off the current thread).
package final class KafkaMockCluster: Sendable {
    /// The brokers' addresses, comma-separated `127.0.0.1:port` pairs.
    package let bootstrapServers: String
    /// How many brokers the cluster has; their ids are 1 through this.
    package let brokerCount: Int
    private let resources: Resources
    /// Ports held while brokers are down, by the broker id they were taken down with.
    private let reservations = Mutex<[Int: [Int32]]>([:])

    /// The mock and the bookkeeping handle it needs.
    private final class Resources: @unchecked Sendable {
        // @unchecked Sendable: librdkafka's mock functions send commands to the mock's own
        // thread and are safe from any thread; `closed` (atomic) makes sure destruction happens
        // once, after which the pointers are never used (every use checks `closed` on `queue`).
        let client: KafkaClient
        let cluster: OpaquePointer
        let closed = Atomic<Bool>(false)

        init(client: KafkaClient, cluster: OpaquePointer) {
            self.client = client
            self.cluster = cluster
        }

        /// Destroys the mock, then the handle that hosts it. Blocking; later calls do nothing.
        func destroy() {
            guard !closed.exchange(true, ordering: .acquiringAndReleasing) else { return }
            rd_kafka_mock_cluster_destroy(cluster)
            client.destroy()
        }

        deinit {
            guard !closed.load(ordering: .acquiring) else { return }
            let leftover = LeftoverCluster(resources: self.cluster, client: client)
            DispatchQueue.global().async { leftover.destroy() }
        }
    }

    /// What `Resources.deinit` hands to a background queue.
    private struct LeftoverCluster: @unchecked Sendable {
        // @unchecked Sendable: created in deinit when nothing else references the mock.
        let resources: OpaquePointer
        let client: KafkaClient

        func destroy() {
            rd_kafka_mock_cluster_destroy(resources)
            client.queue.async { client.destroy() }
        }
    }

    /// Starts a mock cluster with `brokerCount` brokers on ephemeral localhost ports.
    ///
    /// - Throws: ``EventLogError`` `.unavailable` when librdkafka cannot start it.
    package init(brokerCount: Int = 3, logger: Logger = Logger(label: "tributary.kafka.mock")) throws {
        guard brokerCount > 0 else { throw EventLogError(.invalidArgument, "a mock cluster needs at least one broker") }
        // The mock lives inside a client handle; one without brokers warns that it has no
        // bootstrap.servers (CONFWARN), which only matters at debug level.
        var quiet = logger
        quiet.logLevel = max(logger.logLevel, .error)
        let client = try KafkaClient(
            kind: RD_KAFKA_PRODUCER,
            properties: [("log_level", String(KafkaConfiguration.syslogLevel(for: quiet.logLevel)))],
            context: KafkaClientContext(logger: quiet), label: "tributary.kafka.mock")
        guard let cluster = rd_kafka_mock_cluster_new(client.handle, Int32(brokerCount)) else {
            client.destroy()
            throw EventLogError(
                .unavailable, "librdkafka could not start a mock cluster (is librdkafka built with it?)")
        }
        self.bootstrapServers = String(cString: rd_kafka_mock_cluster_bootstraps(cluster))
        self.brokerCount = brokerCount
        self.resources = Resources(client: client, cluster: cluster)
        Self.disableNagleOnListeners(ports: Set(ports(ofBroker: -1)))
    }

    /// Creates a topic directly in the mock (the mock ignores admin CreateTopics).
    ///
    /// - Throws: ``EventLogError`` when the mock refuses or is closed.
    package func createTopic(_ name: String, partitions: Int, replicationFactor: Int = 1) async throws {
        guard partitions > 0, (1...brokerCount).contains(replicationFactor) else {
            throw EventLogError(
                .invalidArgument,
                "mock topic '\(name)' needs partitions > 0 and a replication factor in 1...\(brokerCount)")
        }
        try await run("creating mock topic '\(name)'") { cluster in
            rd_kafka_mock_topic_create(cluster, name, Int32(partitions), Int32(replicationFactor))
        }
    }

    /// Takes broker `id` offline (connections are closed and refused); `-1` takes all of them.
    /// Its port stays reserved while it is down (see ``reservePorts(_:)``).
    package func setBrokerDown(_ id: Int) async throws {
        try await run("taking mock broker \(id) down") { rd_kafka_mock_broker_set_down($0, Int32(id)) }
        let reserved = Self.reservePorts(ports(ofBroker: id))
        reservations.withLock { $0[id, default: []] += reserved }
    }

    /// Brings broker `id` back online; `-1` brings all of them.
    ///
    /// The reservation is released only after the broker listens again: the mock binds with
    /// `SO_REUSEADDR`, which a bound socket that does not listen allows, and a port released
    /// first could be taken in between — by a client reconnecting to that very port, whose
    /// ephemeral local port can be it — and the mock aborts the process when it cannot listen.
    package func setBrokerUp(_ id: Int) async throws {
        try await run("bringing mock broker \(id) up") { rd_kafka_mock_broker_set_up($0, Int32(id)) }
        let reserved = reservations.withLock { $0.removeValue(forKey: id) ?? [] }
        Self.releasePorts(reserved)
    }

    /// The listening ports of broker `id` (1-based, in bootstrap order), or of all for `-1`.
    private func ports(ofBroker id: Int) -> [UInt16] {
        let ports = bootstrapServers.split(separator: ",").compactMap {
            $0.split(separator: ":").last.flatMap { UInt16($0) }
        }
        if id == -1 { return ports }
        return ports.indices.contains(id - 1) ? [ports[id - 1]] : []
    }

    /// Stops the brokers and releases the cluster. Later calls do nothing.
    package func close() async {
        Self.releasePorts(reservations.withLock { $0.values.flatMap { $0 } })
        let resources = resources
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            resources.client.queue.async {
                resources.destroy()
                continuation.resume()
            }
        }
    }

    private func run(
        _ action: String, _ body: @escaping @Sendable (OpaquePointer) -> rd_kafka_resp_err_t
    )
        async throws
    {
        let resources = resources
        let result: rd_kafka_resp_err_t = try await withCheckedThrowingContinuation { continuation in
            resources.client.queue.async {
                guard !resources.closed.load(ordering: .acquiring) else {
                    continuation.resume(throwing: EventLogError(.closed, "\(action): the mock cluster is closed"))
                    return
                }
                continuation.resume(returning: body(resources.cluster))
            }
        }
        guard result == RD_KAFKA_RESP_ERR_NO_ERROR else { throw EventLogError(kafka: result, action) }
    }
}
