import CRdKafka
import EventLog
import Foundation
import Logging
import Synchronization

/// The idempotent producer behind ``KafkaEventLog``: enqueues records with `rd_kafka_produceva`
/// and waits for their delivery reports, which a dedicated poll thread serves.
final class KafkaProducer: Sendable {
    private struct State {
        var closed = false
        /// Partition counts of topics known to exist, refreshed on a miss.
        var partitionCounts: [String: Int] = [:]
    }

    /// The producer handle; also used for metadata and admin requests.
    let client: KafkaClient
    private let deliveries: DeliveryTracker
    private let pollThread: KafkaPollThread
    private let configuration: KafkaConfiguration
    // Enqueueing holds this lock, and shutdown takes it before destroying the handle, so no
    // produce call can touch a destroyed handle.
    private let state = Mutex(State())

    init(configuration: KafkaConfiguration, logger: Logger) throws {
        let deliveries = DeliveryTracker()
        let context = KafkaClientContext(logger: logger, deliveries: deliveries)
        client = try KafkaClient(
            kind: RD_KAFKA_PRODUCER, properties: try configuration.producerProperties(logLevel: logger.logLevel),
            context: context, label: "tributary.kafka.producer")
        self.deliveries = deliveries
        self.configuration = configuration
        pollThread = KafkaPollThread(client: client, name: "tributary.kafka.producer.poll")
    }

    deinit {
        // Without a shutdown: let the poll thread end; the last reference to the client then
        // destroys the handle off this thread.
        pollThread.requestStop()
    }

    /// Appends `records` and returns their positions once every delivery report arrived.
    func append(_ records: [OutgoingRecord]) async throws -> [RecordPosition] {
        guard !records.isEmpty else { return [] }
        try await checkDestinations(of: records)
        let batch = try deliveries.open(count: records.count)
        let scratch = ProduceScratch()
        var next = 0
        while next < records.count {
            // Enqueue as many as fit; produceva never blocks (no RD_KAFKA_MSG_F_BLOCK).
            let outcome: EnqueueOutcome = state.withLock { state in
                guard !state.closed else { return .closed }
                while next < records.count {
                    let opaque = DeliveryTracker.opaque(batch: batch, index: next)
                    if let error = scratch.produce(records[next], opaque: opaque, handle: client.handle) {
                        if rd_kafka_error_code(error) == RD_KAFKA_RESP_ERR__QUEUE_FULL {
                            rd_kafka_error_destroy(error)
                            return .queueFull
                        }
                        return .failed(EventLogError(kafkaError: error, "appending to '\(records[next].topic)'"))
                    }
                    next += 1
                }
                return .done
            }
            switch outcome {
            case .done: break
            case .queueFull:
                // The bounded queue is full: wait for delivery reports to make room, then retry.
                do { try await Task.sleep(for: .milliseconds(2)) } catch {
                    deliveries.abandon(batch)
                    throw error
                }
            case .closed:
                deliveries.abandon(batch)
                throw EventLogError(.closed, "the Kafka log is shut down")
            case .failed(let error):
                deliveries.abandon(batch)
                throw error
            }
        }
        return try await deliveries.wait(for: batch)
    }

    private enum EnqueueOutcome {
        case done, queueFull, closed
        case failed(EventLogError)
    }

    /// Checks that every topic exists and every explicit partition is in range, refreshing the
    /// cached metadata once on a miss. Producing to a missing topic would auto-create it on
    /// brokers that allow that, with the broker's default partition count.
    private func checkDestinations(of records: [OutgoingRecord]) async throws {
        func firstProblem(_ counts: [String: Int]) -> OutgoingRecord? {
            records.first { record in
                guard let count = counts[record.topic] else { return true }
                return record.partition.map { !(0..<count).contains($0) } ?? false
            }
        }
        guard firstProblem(state.withLock({ $0.partitionCounts })) != nil else { return }
        let timeout = configuration.operationTimeout
        let counts = try await client.perform { [client] _ in try client.partitionCounts(timeout: timeout) }
        state.withLock { $0.partitionCounts = counts }
        guard let problem = firstProblem(counts) else { return }
        guard let count = counts[problem.topic] else { throw EventLogError.unknownTopic(problem.topic) }
        throw EventLogError(
            .invalidArgument,
            "partition \(problem.partition ?? -1) does not exist in '\(problem.topic)' (0..<\(count))")
    }

    /// Forgets cached partition counts (after creating a topic).
    func invalidateMetadata() {
        state.withLock { $0.partitionCounts = [:] }
    }

    /// Stops intake, waits up to `flushTimeout` for outstanding deliveries, fails the appends
    /// still waiting, and destroys the handle.
    func shutdown() async {
        let flushTimeout = configuration.shutdownFlushTimeout
        let alreadyClosed = state.withLock { state in
            defer { state.closed = true }
            return state.closed
        }
        guard !alreadyClosed else { return }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            client.queue.async { [client, deliveries, pollThread] in
                pollThread.stop()
                let result = rd_kafka_flush(client.handle, flushTimeout.timeoutMilliseconds)
                let left = rd_kafka_outq_len(client.handle)
                if result != RD_KAFKA_RESP_ERR_NO_ERROR {
                    client.context.logger.warning(
                        "shutdown: \(left) Kafka messages or requests still unacknowledged after \(flushTimeout)")
                }
                deliveries.close(
                    reason: "the Kafka log shut down before the records were acknowledged (\(left) outstanding)")
                client.destroy()
                continuation.resume()
            }
        }
    }
}

/// Serves a handle's callbacks (delivery reports, statistics, errors) with `rd_kafka_poll` on a
/// dedicated thread until stopped.
final class KafkaPollThread: Sendable {
    private let stopRequested = Atomic<Bool>(false)
    private let finished = DispatchSemaphore(value: 0)

    init(client: KafkaClient, name: String) {
        let thread = Thread { [self, client] in
            while !stopRequested.load(ordering: .acquiring) {
                rd_kafka_poll(client.handle, 100)
            }
            finished.signal()
        }
        thread.name = name
        thread.start()
    }

    /// Asks the thread to stop after its current poll; does not wait.
    func requestStop() {
        stopRequested.store(true, ordering: .releasing)
    }

    /// Stops the thread and waits until it has (at most one poll interval). Blocking.
    func stop() {
        guard !stopRequested.exchange(true, ordering: .acquiringAndReleasing) else { return }
        finished.wait()
    }
}

/// Reusable memory for building one `rd_kafka_produceva` call: the topic and header names as
/// C strings and the `rd_kafka_vu_t` array. Keys and values are passed from the records' own
/// storage; `RD_KAFKA_MSG_F_COPY` makes librdkafka copy them before the call returns.
private final class ProduceScratch {
    private var bytes: UnsafeMutableRawPointer
    private var byteCapacity: Int
    private var values: UnsafeMutablePointer<rd_kafka_vu_t>
    private var valueCapacity: Int

    init() {
        byteCapacity = 256
        bytes = .allocate(byteCount: byteCapacity, alignment: 8)
        valueCapacity = 8
        values = .allocate(capacity: valueCapacity)
    }

    deinit {
        bytes.deallocate()
        values.deallocate()
    }

    /// Enqueues `record`; returns `nil` or an owned `rd_kafka_error_t`.
    func produce(_ record: OutgoingRecord, opaque: UInt, handle: OpaquePointer) -> OpaquePointer? {
        reserve(record)
        var cursor = 0
        func cString(_ text: String) -> UnsafePointer<CChar> {
            let start = bytes + cursor
            var count = 0
            for byte in text.utf8 {  // no intermediate array: this runs once per record
                start.storeBytes(of: byte, toByteOffset: count, as: UInt8.self)
                count += 1
            }
            start.storeBytes(of: 0, toByteOffset: count, as: UInt8.self)
            cursor += count + 1
            return UnsafePointer(start.assumingMemoryBound(to: CChar.self))
        }
        func bytesPointer(_ data: [UInt8]) -> UnsafeRawPointer {
            let start = bytes + cursor
            data.withUnsafeBytes { if let base = $0.baseAddress { start.copyMemory(from: base, byteCount: $0.count) } }
            cursor += data.count
            return UnsafeRawPointer(start)
        }
        var count = 0
        func add(_ type: rd_kafka_vtype_t, _ fill: (inout rd_kafka_vu_t) -> Void) {
            var value = rd_kafka_vu_t()
            value.vtype = type
            fill(&value)
            values[count] = value
            count += 1
        }
        let topic = cString(record.topic)
        add(RD_KAFKA_VTYPE_TOPIC) { $0.u.cstr = topic }
        add(RD_KAFKA_VTYPE_MSGFLAGS) { $0.u.i = RD_KAFKA_MSG_F_COPY }
        add(RD_KAFKA_VTYPE_OPAQUE) { $0.u.ptr = UnsafeMutableRawPointer(bitPattern: opaque) }
        if let partition = record.partition {
            add(RD_KAFKA_VTYPE_PARTITION) { $0.u.i32 = Int32(partition) }
        }
        for header in record.headers {
            let name = cString(header.name)
            let value = bytesPointer(header.value)
            let size = header.value.count
            add(RD_KAFKA_VTYPE_HEADER) {
                $0.u.header.name = name
                $0.u.header.val = value
                $0.u.header.size = size
            }
        }
        // A nil key or value is left out (NULL in the record); an empty one needs a non-NULL
        // pointer with size 0, which the scratch buffer provides.
        let fallback = bytes + cursor
        return withBytes(record.key, fallback: fallback) { key in
            if let key {
                add(RD_KAFKA_VTYPE_KEY) {
                    $0.u.mem.ptr = key.pointer
                    $0.u.mem.size = key.count
                }
            }
            return withBytes(record.value, fallback: fallback) { value in
                if let value {
                    add(RD_KAFKA_VTYPE_VALUE) {
                        $0.u.mem.ptr = value.pointer
                        $0.u.mem.size = value.count
                    }
                }
                return rd_kafka_produceva(handle, values, count)
            }
        }
    }

    private func withBytes<T>(
        _ data: [UInt8]?, fallback: UnsafeMutableRawPointer,
        _ body: ((pointer: UnsafeMutableRawPointer, count: Int)?) -> T
    ) -> T {
        guard let data else { return body(nil) }
        return data.withUnsafeBytes { buffer in
            body((UnsafeMutableRawPointer(mutating: buffer.baseAddress) ?? fallback, buffer.count))
        }
    }

    private func reserve(_ record: OutgoingRecord) {
        var needed = record.topic.utf8.count + 2
        for header in record.headers { needed += header.name.utf8.count + 1 + header.value.count }
        if needed > byteCapacity {
            bytes.deallocate()
            byteCapacity = max(needed, byteCapacity * 2)
            bytes = .allocate(byteCount: byteCapacity, alignment: 8)
        }
        let valuesNeeded = 6 + record.headers.count
        if valuesNeeded > valueCapacity {
            values.deallocate()
            valueCapacity = max(valuesNeeded, valueCapacity * 2)
            values = .allocate(capacity: valueCapacity)
        }
    }
}
