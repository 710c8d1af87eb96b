import CRdKafka
import Dispatch
import EventLog
import Synchronization

/// One librdkafka handle (`rd_kafka_t`, producer or consumer) and the serial dispatch queue its
/// blocking calls run on, so they never block Swift's cooperative thread pool.
///
/// - Important: Destroy it with ``destroy()`` on its queue (``perform(_:)``) when done. If it is
///   dropped without that, `deinit` destroys the handle on a background dispatch queue.
final class KafkaClient: @unchecked Sendable {
    // @unchecked Sendable: `handle` points at an rd_kafka_t, which librdkafka documents as safe to
    // use from any thread; the only mutable state, `destroyed`, is atomic, and after it flips no
    // method touches `handle` again (every use goes through `perform`, which checks it on `queue`).

    /// The librdkafka handle; valid until ``destroy()``.
    let handle: OpaquePointer
    /// The callbacks' state.
    let context: KafkaClientContext
    /// Where the blocking calls on this handle run, one at a time.
    let queue: DispatchQueue
    /// The brokers, for error messages.
    let bootstrapServers: String
    private let opaque: Unmanaged<KafkaClientContext>
    private let destroyed = Atomic<Bool>(false)

    /// Creates a handle.
    ///
    /// - Throws: `.invalidArgument` for a property librdkafka rejects.
    init(
        kind: rd_kafka_type_t, properties: [(String, String)], context: KafkaClientContext, label: String
    ) throws {
        let conf = rd_kafka_conf_new()!
        var errorText = [CChar](repeating: 0, count: 512)
        for (name, value) in properties {
            let result = rd_kafka_conf_set(conf, name, value, &errorText, errorText.count)
            guard result == RD_KAFKA_CONF_OK else {
                rd_kafka_conf_destroy(conf)
                throw EventLogError(
                    .invalidArgument, "Kafka property '\(name)=\(value)' was rejected: \(String(cBuffer: errorText))")
            }
        }
        let opaque = Unmanaged.passRetained(context)
        context.install(on: conf, opaque: opaque.toOpaque())
        guard let handle = rd_kafka_new(kind, conf, &errorText, errorText.count) else {
            rd_kafka_conf_destroy(conf)  // not consumed on failure
            opaque.release()
            throw EventLogError(.invalidArgument, "cannot create a Kafka client: \(String(cBuffer: errorText))")
        }
        self.handle = handle
        self.context = context
        self.opaque = opaque
        self.queue = DispatchQueue(label: label)
        self.bootstrapServers = properties.first(where: { $0.0 == "bootstrap.servers" })?.1 ?? ""
    }

    /// Whether ``destroy()`` ran.
    var isDestroyed: Bool { destroyed.load(ordering: .acquiring) }

    /// Runs `body` with the handle on the handle's queue and returns its result.
    ///
    /// - Throws: what `body` throws, or `.closed` when the handle was destroyed.
    func perform<T: Sendable>(_ body: @escaping @Sendable (OpaquePointer) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            queue.async {
                guard !self.isDestroyed else {
                    continuation.resume(throwing: EventLogError(.closed, "the Kafka client is closed"))
                    return
                }
                continuation.resume(with: Result { try body(self.handle) })
            }
        }
    }

    /// Destroys the handle (blocking until librdkafka's threads stopped), then releases the
    /// callbacks' context. Call it on ``queue``; later calls do nothing.
    func destroy() {
        guard !destroyed.exchange(true, ordering: .acquiringAndReleasing) else { return }
        rd_kafka_destroy(handle)
        opaque.release()
    }

    deinit {
        guard !isDestroyed else { return }
        let leftover = LeftoverHandle(handle: handle, opaque: opaque)
        DispatchQueue.global().async { leftover.destroy() }
    }
}

/// A handle nobody destroyed, destroyed off the thread that dropped it.
private struct LeftoverHandle: @unchecked Sendable {
    // @unchecked Sendable: it is created in deinit, when no other reference to the handle
    // remains, and used by exactly one block.
    let handle: OpaquePointer
    let opaque: Unmanaged<KafkaClientContext>

    func destroy() {
        rd_kafka_destroy(handle)
        opaque.release()
    }
}

// MARK: - Metadata (blocking; call inside `perform`)

extension KafkaClient {
    /// Partition counts of every topic in the cluster, internal (`__`) topics excluded.
    /// Asks for all topics, which never auto-creates one.
    ///
    /// - Throws: `.unavailable` when no broker answered within `timeout`.
    func partitionCounts(timeout: Duration) throws -> [String: Int] {
        var metadata: UnsafePointer<rd_kafka_metadata>?
        let result = rd_kafka_metadata(handle, 1, nil, &metadata, timeout.timeoutMilliseconds)
        guard result == RD_KAFKA_RESP_ERR_NO_ERROR, let metadata else {
            throw unreachable(result, "reading cluster metadata", timeout: timeout)
        }
        defer { rd_kafka_metadata_destroy(metadata) }
        var counts: [String: Int] = [:]
        for index in 0..<Int(metadata.pointee.topic_cnt) {
            let topic = metadata.pointee.topics[index]
            let name = String(cString: topic.topic)
            guard !name.hasPrefix("__"), topic.err == RD_KAFKA_RESP_ERR_NO_ERROR else { continue }
            counts[name] = Int(topic.partition_cnt)
        }
        return counts
    }

    /// The first retained offset and the end offset of a partition.
    func watermarks(topic: String, partition: Int, timeout: Duration) throws -> (low: Int64, high: Int64) {
        var low: Int64 = 0
        var high: Int64 = 0
        let result = rd_kafka_query_watermark_offsets(
            handle, topic, Int32(partition), &low, &high, timeout.timeoutMilliseconds)
        guard result == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw unreachable(result, "reading the offsets of \(topic)[\(partition)]", timeout: timeout)
        }
        return (low, high)
    }

    /// An error for a failed request, naming the brokers and the last broker error when the
    /// cluster could not be reached.
    func unreachable(_ code: rd_kafka_resp_err_t, _ action: String, timeout: Duration) -> EventLogError {
        guard code == RD_KAFKA_RESP_ERR__TIMED_OUT || code == RD_KAFKA_RESP_ERR__TRANSPORT else {
            return EventLogError(kafka: code, action)
        }
        let last = context.lastErrorDescription.map { "; last broker error: \($0)" } ?? ""
        return EventLogError(
            .unavailable,
            "\(action) failed: no Kafka broker at '\(bootstrapServers)' answered within \(timeout)\(last)"
                + " (check bootstrapServers and that the brokers are up)")
    }
}
