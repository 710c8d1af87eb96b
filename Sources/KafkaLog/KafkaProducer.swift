import CRdKafka
import EventLog
import Foundation
import Logging
import Synchronization

/// The idempotent producer behind ``KafkaEventLog``.
///
/// One thread (``ProducerThread``) does all the work on the handle: it enqueues the records of
/// submitted appends with `rd_kafka_produceva` and serves the delivery reports with
/// `rd_kafka_poll`, as a plain librdkafka produce loop does. Keeping both on one thread matters:
/// librdkafka allocates a message when it is enqueued and frees it after its report, and when
/// those ran on different threads they fought over one malloc arena lock (measured: the produce
/// rate dropped by about a fifth).
final class KafkaProducer: Sendable {
    /// The producer handle; also used for metadata and admin requests.
    let client: KafkaClient
    private let deliveries: DeliveryTracker
    private let thread: ProducerThread
    private let configuration: KafkaConfiguration
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
        thread = try ProducerThread(client: client, deliveries: deliveries, name: "tributary.kafka.producer")
    }

    deinit {
        // Without a shutdown: let the thread end; it holds the client, whose last reference then
        // destroys the handle off this thread. No append can be running: it would hold `self`.
        thread.requestStop()
    }

    /// Appends `records` and returns their positions once every delivery report arrived.
    ///
    /// Cancelling an append whose records are not all enqueued yet (the producer queue is full)
    /// stops enqueueing them and throws `CancellationError`; records already enqueued may still
    /// be delivered.
    func append(_ records: [OutgoingRecord]) async throws -> [RecordPosition] {
        guard !records.isEmpty else { return [] }
        try await checkDestinations(of: records)
        let batch = try deliveries.open(count: records.count)
        let submission = ProducerThread.Submission(batch: batch, records: records)
        if !thread.submit(submission) {
            deliveries.fail(batch, with: EventLogError(.closed, "the Kafka log is shut down"))
        }
        let delivered = try await withTaskCancellationHandler {
            try await deliveries.wait(for: batch)
        } onCancel: {
            thread.cancel(submission)
        }
        return delivered.indices.map { index in
            RecordPosition(
                topic: records[index].topic, partition: Int(delivered[index].partition),
                offset: delivered[index].offset)
        }
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
        guard thread.close() else { return }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            client.queue.async { [client, deliveries, thread] in
                thread.stop()
                let result = rd_kafka_flush(client.handle, flushTimeout.timeoutMilliseconds)
                deliveries.applyGathered()
                let left = rd_kafka_outq_len(client.handle)
                if result != RD_KAFKA_RESP_ERR_NO_ERROR {
                    client.context.logger.warning(
                        "shutdown: \(left) Kafka messages or requests still unacknowledged after \(flushTimeout)")
                }
                // Destroyed before the waiting appends fail, so nothing of theirs is in flight.
                client.destroy()
                deliveries.close(
                    reason: "the Kafka log shut down before the records were acknowledged (\(left) outstanding)")
                continuation.resume()
            }
        }
    }
}

/// The thread that enqueues submitted appends and serves the producer's callbacks (delivery
/// reports, statistics, errors) until stopped. It alone calls `rd_kafka_produceva` and
/// `rd_kafka_poll` on the handle. It sleeps in `poll(2)` on a non-blocking pipe that both
/// librdkafka (an IO event when its callback queue becomes non-empty) and submitters write to.
final class ProducerThread: Sendable {
    /// One append's records, handed to the thread.
    final class Submission: Sendable {
        let batch: UInt32
        let records: [OutgoingRecord]
        private let cancelled = Atomic<Bool>(false)

        init(batch: UInt32, records: [OutgoingRecord]) {
            self.batch = batch
            self.records = records
        }

        var isCancelled: Bool { cancelled.load(ordering: .acquiring) }
        func cancel() { cancelled.store(true, ordering: .releasing) }
    }

    private struct Inbox {
        var submissions: [Submission] = []
        var closed = false
        var pipeClosed = false
    }

    /// An `rd_kafka_queue_t` reference.
    private struct QueueHandle: @unchecked Sendable {
        // @unchecked Sendable: librdkafka queues are thread-safe; the reference is released by
        // the thread as it ends, before the client handle can be destroyed.
        let pointer: OpaquePointer
    }

    private let client: KafkaClient
    private let deliveries: DeliveryTracker
    private let inbox = Mutex(Inbox())
    private let stopRequested = Atomic<Bool>(false)
    private let finished = DispatchSemaphore(value: 0)
    private let wakeRead: Int32
    // Closed by the thread as it ends; until then `wake()` may write to it.
    private let wakeWrite: Int32
    private let mainQueue: QueueHandle

    /// - Throws: `.io` when the wake-up pipe cannot be created.
    init(client: KafkaClient, deliveries: DeliveryTracker, name: String) throws {
        var descriptors: [Int32] = [-1, -1]
        guard pipe(&descriptors) == 0 else {
            throw EventLogError(.io, "cannot create the Kafka producer's wake-up pipe: errno \(errno)")
        }
        for descriptor in descriptors {
            _ = fcntl(descriptor, F_SETFL, fcntl(descriptor, F_GETFL) | O_NONBLOCK)
            _ = fcntl(descriptor, F_SETFD, FD_CLOEXEC)
        }
        self.client = client
        self.deliveries = deliveries
        wakeRead = descriptors[0]
        wakeWrite = descriptors[1]
        mainQueue = QueueHandle(pointer: rd_kafka_queue_get_main(client.handle))
        var payload: UInt8 = 1
        rd_kafka_queue_io_event_enable(mainQueue.pointer, wakeWrite, &payload, 1)
        let thread = Thread { [self] in run() }
        thread.name = name
        thread.start()
    }

    /// Queues `submission` and wakes the thread; `false` once closed.
    func submit(_ submission: Submission) -> Bool {
        let accepted = inbox.withLock { inbox in
            guard !inbox.closed else { return false }
            inbox.submissions.append(submission)
            return true
        }
        if accepted { wake() }
        return accepted
    }

    /// Marks `submission` cancelled; the thread fails it unless all its records are enqueued.
    func cancel(_ submission: Submission) {
        submission.cancel()
        wake()
    }

    /// Makes the thread look at its inbox. The pipe is non-blocking: when it is full the thread
    /// is awake anyway.
    private func wake() {
        // Under the inbox lock, which the ending thread takes before closing the pipe.
        inbox.withLock { inbox in
            guard !inbox.pipeClosed else { return }
            var byte: UInt8 = 1
            _ = write(wakeWrite, &byte, 1)
        }
    }

    /// Refuses new submissions; `false` when already closed.
    func close() -> Bool {
        inbox.withLock { inbox in
            defer { inbox.closed = true }
            return !inbox.closed
        }
    }

    /// Closes, stops the thread (which enqueues what it can and fails the rest) and waits for
    /// it. Blocking: call it off the cooperative pool.
    func stop() {
        _ = close()
        guard !stopRequested.exchange(true, ordering: .acquiringAndReleasing) else { return }
        wake()
        finished.wait()
    }

    /// Asks the thread to end after its current step; does not wait.
    func requestStop() {
        stopRequested.store(true, ordering: .releasing)
        wake()
    }

    /// An append being enqueued: `next` is its first record not yet handed to librdkafka.
    private struct Pending {
        let submission: Submission
        var next = 0
    }

    private func run() {
        var pending: [Pending] = []
        var topics = TopicHandles()
        let scratch = ProduceScratch()
        while true {
            let stopping = stopRequested.load(ordering: .acquiring)
            pending += inbox.withLock { inbox in
                defer { inbox.submissions = [] }
                return inbox.submissions.map { Pending(submission: $0) }
            }
            let progress = enqueue(&pending, topics: &topics, scratch: scratch)
            let served = rd_kafka_poll(client.handle, 0)
            deliveries.applyGathered()
            // More to enqueue, or reports just freed room in a full queue: go on at once.
            if progress == .budgetSpent || (progress == .queueFull && served > 0) { continue }
            if stopping { break }
            let queueFull = progress == .queueFull
            // Sleep until librdkafka has callbacks to serve or a submission arrives; with a full
            // producer queue only briefly, as a plain librdkafka loop does. The timeout is a
            // safety net: every event also writes to the pipe.
            var descriptor = pollfd(fd: wakeRead, events: Int16(POLLIN), revents: 0)
            _ = poll(&descriptor, 1, queueFull ? 5 : 1000)
            var drain = (UInt64(0), UInt64(0), UInt64(0), UInt64(0))
            while read(wakeRead, &drain, MemoryLayout.size(ofValue: drain)) > 0 {}
        }
        for left in pending {
            deliveries.fail(left.submission.batch, with: EventLogError(.closed, "the Kafka log is shut down"))
        }
        topics.destroyAll()
        // librdkafka must not write to the pipe once it is closed (the descriptor could be reused).
        rd_kafka_queue_io_event_enable(mainQueue.pointer, -1, nil, 0)
        rd_kafka_queue_destroy(mainQueue.pointer)
        inbox.withLock { inbox in
            inbox.pipeClosed = true
            Glibc.close(wakeRead)
            Glibc.close(wakeWrite)
        }
        finished.signal()
    }

    /// How far one ``enqueue(_:topics:scratch:)`` pass got.
    private enum EnqueueProgress {
        /// Nothing is left to enqueue.
        case done
        /// The producer queue is full.
        case queueFull
        /// The pass enqueued its budget; more is pending.
        case budgetSpent
    }

    /// Records enqueued between two polls. A plain librdkafka loop polls after every record;
    /// polling every few hundred keeps the messages whose reports free them few and cache-warm.
    private static let enqueueBudget = 512

    /// Enqueues pending appends in order until done, the producer queue is full or the budget
    /// is spent. Cancelled and failed appends are failed and dropped.
    private func enqueue(
        _ pending: inout [Pending], topics: inout TopicHandles, scratch: ProduceScratch
    ) -> EnqueueProgress {
        var budget = Self.enqueueBudget
        // Every cancelled append goes, not only the first: that one may wait for room for long.
        pending.removeAll { waiting in
            guard waiting.submission.isCancelled else { return false }
            deliveries.fail(waiting.submission.batch, with: CancellationError())
            return true
        }
        while !pending.isEmpty {
            guard budget > 0 else { return .budgetSpent }
            let submission = pending[0].submission
            var next = pending[0].next
            // Consecutive records mostly share a topic: its handle is looked up once per run. The
            // buffer lends the records in place, without copying (and retaining) each one.
            var current: (topic: String, handle: OpaquePointer)?
            let outcome: Result<EnqueueProgress, EventLogError> = submission.records.withUnsafeBufferPointer {
                records in
                while next < records.count {
                    guard budget > 0 else { return .success(.budgetSpent) }
                    if current?.topic != records[next].topic {
                        switch topics.handle(of: records[next].topic, client: client.handle) {
                        case .success(let handle): current = (records[next].topic, handle)
                        case .failure(let error): return .failure(error)
                        }
                    }
                    let opaque = DeliveryTracker.opaque(batch: submission.batch, index: next)
                    if let error = scratch.produce(
                        records[next], topic: current!.handle, opaque: opaque, handle: client.handle)
                    {
                        if rd_kafka_error_code(error) == RD_KAFKA_RESP_ERR__QUEUE_FULL {
                            rd_kafka_error_destroy(error)
                            return .success(.queueFull)
                        }
                        return .failure(EventLogError(kafkaError: error, "appending to '\(records[next].topic)'"))
                    }
                    next += 1
                    budget -= 1
                }
                return .success(.done)
            }
            switch outcome {
            case .success(.done):
                pending.removeFirst()
            case .success(let stopped):
                pending[0].next = next
                return stopped
            case .failure(let error):
                deliveries.fail(submission.batch, with: error)
                pending.removeFirst()
            }
        }
        return .done
    }
}

/// librdkafka topic handles (`rd_kafka_topic_t`) by name, created on first use: producing by
/// name would make librdkafka look the topic up for every record. Owned by the producer thread.
private struct TopicHandles {
    var byName: [String: OpaquePointer] = [:]

    /// The handle of `topic`, created on first use.
    mutating func handle(of topic: String, client: OpaquePointer) -> Result<OpaquePointer, EventLogError> {
        if let known = byName[topic] { return .success(known) }
        guard let created = rd_kafka_topic_new(client, topic, nil) else {
            return .failure(EventLogError(kafka: rd_kafka_last_error(), "opening topic '\(topic)'"))
        }
        byName[topic] = created
        return .success(created)
    }

    /// Releases every handle; the client handle must still exist.
    mutating func destroyAll() {
        for handle in byName.values { rd_kafka_topic_destroy(handle) }
        byName = [:]
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
