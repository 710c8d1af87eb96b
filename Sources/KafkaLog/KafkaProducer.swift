import CRdKafka
import EventLog
import Foundation
import Logging
import Synchronization

/// The idempotent producer behind ``KafkaEventLog``: enqueues records with `rd_kafka_produceva`
/// and waits for their delivery reports, which a dedicated poll thread serves.
final class KafkaProducer: Sendable {
    /// librdkafka topic handles by name, created on first use and destroyed with the producer:
    /// producing by name would make librdkafka look the topic up for every record.
    private struct TopicHandles {
        var byName: [String: TopicHandle] = [:]

        /// The handle of `topic`, created on first use.
        mutating func handle(of topic: String, client: OpaquePointer) -> Result<TopicHandle, EventLogError> {
            if let known = byName[topic] { return .success(known) }
            guard let created = rd_kafka_topic_new(client, topic, nil) else {
                return .failure(EventLogError(kafka: rd_kafka_last_error(), "opening topic '\(topic)'"))
            }
            byName[topic] = TopicHandle(pointer: created)
            return .success(TopicHandle(pointer: created))
        }

        /// Releases every handle; call once intake stopped, before the client handle is destroyed.
        mutating func destroyAll() {
            for handle in byName.values { rd_kafka_topic_destroy(handle.pointer) }
            byName = [:]
        }
    }

    /// An `rd_kafka_topic_t`, which librdkafka lets any thread use.
    struct TopicHandle: @unchecked Sendable {
        // @unchecked Sendable: librdkafka topic handles are thread-safe; they are destroyed only
        // after the intake gate closed and drained.
        let pointer: OpaquePointer
    }

    /// The producer handle; also used for metadata and admin requests.
    let client: KafkaClient
    private let deliveries: DeliveryTracker
    private let pollThread: KafkaPollThread
    private let configuration: KafkaConfiguration
    /// Concurrent appends enqueue without a lock; shutdown closes the gate and waits for the
    /// admitted ones before destroying the handle, so no produce call touches a destroyed handle.
    private let intake = IntakeGate()
    private let topicHandles = Mutex(TopicHandles())
    /// Partition counts of topics known to exist, refreshed on a miss.
    private let partitionCounts = Mutex<[String: Int]>([:])

    init(configuration: KafkaConfiguration, logger: Logger) throws {
        let deliveries = DeliveryTracker()
        let context = KafkaClientContext(logger: logger, deliveries: deliveries)
        client = try KafkaClient(
            kind: RD_KAFKA_PRODUCER, properties: try configuration.producerProperties(logLevel: logger.logLevel),
            context: context, label: "tributary.kafka.producer")
        self.deliveries = deliveries
        self.configuration = configuration
        pollThread = KafkaPollThread(client: client, deliveries: deliveries, name: "tributary.kafka.producer.poll")
    }

    deinit {
        // Without a shutdown: let the poll thread end; the last reference to the client then
        // destroys the handle off this thread, after the topic handles released here (no
        // append can be running: it would hold a reference).
        pollThread.requestStop()
        topicHandles.withLock { $0.destroyAll() }
    }

    /// Appends `records` and returns their positions once every delivery report arrived.
    func append(_ records: [OutgoingRecord]) async throws -> [RecordPosition] {
        guard !records.isEmpty else { return [] }
        try await checkDestinations(of: records)
        let batch = try deliveries.open(count: records.count)
        let scratch = ProduceScratch()
        var next = 0
        // Consecutive records mostly share a topic: its handle is looked up once per run.
        var current: (topic: String, handle: TopicHandle)?
        while next < records.count {
            // Enqueue as many as fit; produceva never blocks (no RD_KAFKA_MSG_F_BLOCK). The
            // buffer lends the records without copying (and retaining) each one.
            let outcome: EnqueueOutcome = records.withUnsafeBufferPointer { records in
                guard intake.enter() else { return .closed }
                defer { intake.leave() }
                while next < records.count {
                    // `records[next]` is used in place, never bound to a copy.
                    if current?.topic != records[next].topic {
                        switch topicHandles.withLock({ $0.handle(of: records[next].topic, client: client.handle) }) {
                        case .success(let handle): current = (records[next].topic, handle)
                        case .failure(let error): return .failed(error)
                        }
                    }
                    let opaque = DeliveryTracker.opaque(batch: batch, index: next)
                    if let error = scratch.produce(
                        records[next], topic: current!.handle.pointer, opaque: opaque, handle: client.handle)
                    {
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
        let delivered = try await deliveries.wait(for: batch)
        return delivered.indices.map { index in
            RecordPosition(
                topic: records[index].topic, partition: Int(delivered[index].partition),
                offset: delivered[index].offset)
        }
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
            // Looked up once per run of records to the same topic, not once per record.
            var current: (topic: String, count: Int)?
            for index in records.indices {
                let topic = records[index].topic
                if current?.topic != topic {
                    guard let count = counts[topic] else { return records[index] }
                    current = (topic, count)
                }
                if let partition = records[index].partition, !(0..<current!.count).contains(partition) {
                    return records[index]
                }
            }
            return nil
        }
        guard firstProblem(partitionCounts.withLock({ $0 })) != nil else { return }
        let timeout = configuration.operationTimeout
        let counts = try await client.perform { [client] _ in try client.partitionCounts(timeout: timeout) }
        partitionCounts.withLock { $0 = counts }
        guard let problem = firstProblem(counts) else { return }
        guard let count = counts[problem.topic] else { throw EventLogError.unknownTopic(problem.topic) }
        throw EventLogError(
            .invalidArgument,
            "partition \(problem.partition ?? -1) does not exist in '\(problem.topic)' (0..<\(count))")
    }

    /// Forgets cached partition counts (after creating a topic).
    func invalidateMetadata() {
        partitionCounts.withLock { $0 = [:] }
    }

    /// Stops intake, waits up to `flushTimeout` for outstanding deliveries, fails the appends
    /// still waiting, and destroys the handle.
    func shutdown() async {
        let flushTimeout = configuration.shutdownFlushTimeout
        guard intake.close() else { return }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            client.queue.async { [self, client, deliveries, pollThread] in
                intake.drain()
                pollThread.stop()
                let result = rd_kafka_flush(client.handle, flushTimeout.timeoutMilliseconds)
                deliveries.applyGathered()
                let left = rd_kafka_outq_len(client.handle)
                if result != RD_KAFKA_RESP_ERR_NO_ERROR {
                    client.context.logger.warning(
                        "shutdown: \(left) Kafka messages or requests still unacknowledged after \(flushTimeout)")
                }
                deliveries.close(
                    reason: "the Kafka log shut down before the records were acknowledged (\(left) outstanding)")
                topicHandles.withLock { $0.destroyAll() }
                client.destroy()
                continuation.resume()
            }
        }
    }
}

/// Serves a producer's callbacks (delivery reports, statistics, errors) with `rd_kafka_poll` on
/// a dedicated thread until stopped, applying the delivery reports of each poll together.
final class KafkaPollThread: Sendable {
    private let stopRequested = Atomic<Bool>(false)
    private let finished = DispatchSemaphore(value: 0)

    init(client: KafkaClient, deliveries: DeliveryTracker, name: String) {
        let thread = Thread { [self, client, deliveries] in
            while !stopRequested.load(ordering: .acquiring) {
                rd_kafka_poll(client.handle, 100)
                deliveries.applyGathered()
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

/// Reusable memory for building one `rd_kafka_produceva` call: the header names as C strings
/// and the `rd_kafka_vu_t` array. Keys and values are passed from the records' own
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
    func produce(
        _ record: OutgoingRecord, topic: OpaquePointer, opaque: UInt, handle: OpaquePointer
    ) -> OpaquePointer? {
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
        add(RD_KAFKA_VTYPE_RKT) { $0.u.rkt = topic }
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
        var needed = 1
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

/// Admits concurrent enqueuers without a lock until closed; closing then waits for the admitted
/// ones to leave. One atomic word: the count of admitted enqueuers plus a closed bit.
final class IntakeGate: Sendable {
    private static let closedBit = 1 << 62
    private let word = Atomic<Int>(0)

    /// Admits one enqueuer; `false` once closed. Pair every `true` with ``leave()``.
    func enter() -> Bool {
        var current = word.load(ordering: .relaxed)
        while current & Self.closedBit == 0 {
            let (exchanged, original) = word.compareExchange(
                expected: current, desired: current + 1, ordering: .acquiring)
            if exchanged { return true }
            current = original
        }
        return false
    }

    func leave() {
        word.subtract(1, ordering: .releasing)
    }

    /// Refuses new enqueuers; `false` when it was already closed.
    func close() -> Bool {
        word.bitwiseOr(Self.closedBit, ordering: .acquiringAndReleasing).oldValue & Self.closedBit == 0
    }

    /// Waits until every admitted enqueuer left (enqueueing never blocks, so this is short).
    /// Blocking: call it off the cooperative pool, after ``close()``.
    func drain() {
        while word.load(ordering: .acquiring) & ~Self.closedBit != 0 { usleep(50) }
    }
}
