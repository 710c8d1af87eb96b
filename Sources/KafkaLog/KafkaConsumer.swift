import CRdKafka
import EventLog
import Logging
import Synchronization

/// A consumer handle shared by ``KafkaReader`` and ``KafkaGroupConsumer``: it polls records on
/// the handle's own queue (never on the cooperative pool) and closes the handle once.
final class KafkaConsumer: Sendable {
    /// The consumer handle.
    let client: KafkaClient
    private let closed = Atomic<Bool>(false)
    private let onClose: @Sendable () -> Void

    /// Wraps `client`; `onClose` runs once after the handle is destroyed.
    init(client: KafkaClient, onClose: @escaping @Sendable () -> Void) {
        self.client = client
        self.onClose = onClose
    }

    /// Whether ``close()`` was called.
    var isClosed: Bool { closed.load(ordering: .acquiring) }

    /// Returns up to `maxRecords` records, waiting up to `timeout` for the first one.
    func poll(maxRecords: Int, timeout: Duration) async throws -> [LogRecord] {
        guard !isClosed else { throw EventLogError(.closed, "the Kafka reader is closed") }
        guard maxRecords > 0 else { return [] }
        return try await client.perform { [self] handle in
            try Self.pollRecords(
                handle, context: client.context, maxRecords: maxRecords, timeout: timeout,
                isClosed: { self.isClosed })
        }
    }

    /// Leaves the group if any (`rd_kafka_consumer_close`, which revokes the assignment without
    /// committing) and destroys the handle. Later calls do nothing.
    func close() async {
        guard !closed.exchange(true, ordering: .acquiringAndReleasing) else { return }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            // Queued behind any poll in progress, which notices `closed` within 100 ms.
            client.queue.async { [client] in
                let result = rd_kafka_consumer_close(client.handle)
                if result != RD_KAFKA_RESP_ERR_NO_ERROR {
                    client.context.logger.debug("consumer close: \(String(cString: rd_kafka_err2str(result)))")
                }
                client.destroy()
                continuation.resume()
            }
        }
        onClose()
    }

    /// The blocking poll loop: waits in slices of at most 100 ms for the first record (so a
    /// close is noticed), then takes whatever else is ready without waiting.
    private static func pollRecords(
        _ handle: OpaquePointer, context: KafkaClientContext, maxRecords: Int, timeout: Duration,
        isClosed: () -> Bool
    ) throws -> [LogRecord] {
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: max(timeout, .zero))
        var records: [LogRecord] = []
        while records.count < maxRecords {
            if isClosed() {
                if records.isEmpty { throw EventLogError(.closed, "the Kafka reader was closed while polling") }
                break
            }
            let remaining = clock.now.duration(to: deadline)
            let wait = records.isEmpty ? min(max(remaining, .zero), .milliseconds(100)) : .zero
            guard let message = rd_kafka_consumer_poll(handle, wait.timeoutMilliseconds) else {
                if !records.isEmpty || remaining <= .zero { break }
                continue
            }
            defer { rd_kafka_message_destroy(message) }
            let error = message.pointee.err
            guard error == RD_KAFKA_RESP_ERR_NO_ERROR else {
                try handleError(error, of: message, handle: handle, context: context)
                continue
            }
            records.append(record(from: message))
        }
        return records
    }

    /// Consumer errors arrive as messages: end-of-partition and transient broker errors are
    /// logged and skipped (librdkafka retries); fatal and topic errors are thrown.
    private static func handleError(
        _ error: rd_kafka_resp_err_t, of message: UnsafeMutablePointer<rd_kafka_message_t>, handle: OpaquePointer,
        context: KafkaClientContext
    ) throws {
        let topic = message.pointee.rkt.map { String(cString: rd_kafka_topic_name($0)) }
        let where_ = topic.map { "\($0)[\(message.pointee.partition)]" } ?? "the consumer"
        switch error {
        case RD_KAFKA_RESP_ERR__PARTITION_EOF:
            return
        case RD_KAFKA_RESP_ERR__FATAL:
            var buffer = [CChar](repeating: 0, count: 512)
            let underlying = rd_kafka_fatal_error(handle, &buffer, buffer.count)
            throw EventLogError(kafka: underlying, "reading \(where_)", detail: String(cBuffer: buffer))
        case RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART, RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC,
            RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED:
            throw EventLogError(kafka: error, "reading \(where_)", detail: messageText(message))
        default:
            context.logger.warning("reading \(where_): \(messageText(message) ?? "") (retrying)")
        }
    }

    /// The error text librdkafka puts in an error message's payload.
    private static func messageText(_ message: UnsafeMutablePointer<rd_kafka_message_t>) -> String? {
        guard let text = rd_kafka_message_errstr(message) else { return nil }
        return String(cString: text)
    }

    /// Copies a message into a ``LogRecord``: a NULL key stays `nil`, a NULL payload is a tombstone.
    static func record(from message: UnsafeMutablePointer<rd_kafka_message_t>) -> LogRecord {
        let fields = message.pointee
        let topic = fields.rkt.map { String(cString: rd_kafka_topic_name($0)) } ?? ""
        let key = fields.key.map { Array(UnsafeRawBufferPointer(start: $0, count: fields.key_len)) }
        let value = fields.payload.map { Array(UnsafeRawBufferPointer(start: $0, count: fields.len)) }
        var headers: [RecordHeader] = []
        var headerList: OpaquePointer?
        if rd_kafka_message_headers(message, &headerList) == RD_KAFKA_RESP_ERR_NO_ERROR, let headerList {
            var index = 0
            var name: UnsafePointer<CChar>?
            var bytes: UnsafeRawPointer?
            var size = 0
            while rd_kafka_header_get_all(headerList, index, &name, &bytes, &size) == RD_KAFKA_RESP_ERR_NO_ERROR {
                let headerValue = bytes.map { Array(UnsafeRawBufferPointer(start: $0, count: size)) } ?? []
                headers.append(RecordHeader(name: name.map { String(cString: $0) } ?? "", value: headerValue))
                index += 1
            }
        }
        let timestamp = rd_kafka_message_timestamp(message, nil)
        return LogRecord(
            topic: topic, partition: Int(fields.partition), offset: fields.offset, key: key, value: value,
            headers: headers, timestampMilliseconds: max(timestamp, 0))
    }
}
