import CRdKafka
import EventLog
import Foundation
import Logging

/// The plain librdkafka produce loop, for benchmarks to measure ``KafkaEventLog/append(_:)``
/// against: `rd_kafka_produce` on a topic handle with `RD_KAFKA_MSG_F_COPY`, `rd_kafka_poll`
/// when the queue is full, `rd_kafka_flush` at the end, and a delivery-report callback that only
/// counts. Same producer settings as the log (``KafkaConfiguration``); no headers, no per-record
/// positions, no partition checks.
package enum RawKafkaProducerBaseline {
    /// What a run delivered.
    package struct Outcome: Sendable {
        /// Records the brokers acknowledged.
        package var delivered: Int
        /// Records whose delivery report carried an error.
        package var failed: Int
        /// From the first produce call to the end of the flush.
        package var elapsed: Duration
    }

    /// Produces every record (key and value only) to its topic and waits for all delivery
    /// reports, on a dedicated thread.
    ///
    /// - Throws: ``EventLogError`` when the producer cannot be created or a produce call fails
    ///   with anything but a full queue, or `.timeout` when the flush does not finish within the
    ///   message timeout.
    package static func produce(
        _ records: [OutgoingRecord], configuration: KafkaConfiguration,
        logger: Logger = Logger(label: "tributary.kafka.baseline")
    ) async throws -> Outcome {
        try await withCheckedThrowingContinuation { continuation in
            let thread = Thread {
                continuation.resume(with: Result { try run(records, configuration: configuration, logger: logger) })
            }
            thread.name = "tributary.kafka.baseline"
            thread.start()
        }
    }

    /// Counts delivery reports; only touched by the thread that polls.
    private final class Counts {
        var delivered = 0
        var failed = 0
    }

    private static func run(
        _ records: [OutgoingRecord], configuration: KafkaConfiguration, logger: Logger
    ) throws
        -> Outcome
    {
        let conf = rd_kafka_conf_new()!
        var errorText = [CChar](repeating: 0, count: 512)
        for (name, value) in try configuration.producerProperties(logLevel: logger.logLevel) {
            guard rd_kafka_conf_set(conf, name, value, &errorText, errorText.count) == RD_KAFKA_CONF_OK else {
                rd_kafka_conf_destroy(conf)
                throw EventLogError(.invalidArgument, "Kafka property '\(name)': \(String(cBuffer: errorText))")
            }
        }
        let counts = Counts()
        rd_kafka_conf_set_opaque(conf, Unmanaged.passUnretained(counts).toOpaque())
        rd_kafka_conf_set_dr_msg_cb(conf) { _, message, opaque in
            guard let message, let opaque else { return }
            let counts = Unmanaged<Counts>.fromOpaque(opaque).takeUnretainedValue()
            if message.pointee.err == RD_KAFKA_RESP_ERR_NO_ERROR { counts.delivered += 1 } else { counts.failed += 1 }
        }
        guard let handle = rd_kafka_new(RD_KAFKA_PRODUCER, conf, &errorText, errorText.count) else {
            rd_kafka_conf_destroy(conf)
            throw EventLogError(.invalidArgument, "cannot create a Kafka producer: \(String(cBuffer: errorText))")
        }
        // `counts` outlives the handle: destroyed here, before this function returns.
        defer { withExtendedLifetime(counts) { rd_kafka_destroy(handle) } }
        var topics: [String: OpaquePointer] = [:]
        defer { for topic in topics.values { rd_kafka_topic_destroy(topic) } }
        let clock = ContinuousClock()
        let start = clock.now
        for record in records {
            let topic =
                try topics[record.topic]
                ?? {
                    guard let created = rd_kafka_topic_new(handle, record.topic, nil) else {
                        throw EventLogError(kafka: rd_kafka_last_error(), "opening topic '\(record.topic)'")
                    }
                    topics[record.topic] = created
                    return created
                }()
            let partition = record.partition.map(Int32.init) ?? RD_KAFKA_PARTITION_UA
            while true {
                let status = withBytes(record.value) { value, valueCount in
                    withBytes(record.key) { key, keyCount in
                        rd_kafka_produce(
                            topic, partition, RD_KAFKA_MSG_F_COPY, UnsafeMutableRawPointer(mutating: value),
                            valueCount, key, keyCount, nil)
                    }
                }
                if status == 0 { break }
                let error = rd_kafka_last_error()
                guard error == RD_KAFKA_RESP_ERR__QUEUE_FULL else {
                    throw EventLogError(kafka: error, "producing to '\(record.topic)'")
                }
                rd_kafka_poll(handle, 5)
            }
            rd_kafka_poll(handle, 0)
        }
        let flushed = rd_kafka_flush(handle, configuration.messageTimeout.timeoutMilliseconds)
        let elapsed = start.duration(to: clock.now)
        guard flushed == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw EventLogError(kafka: flushed, "flushing \(rd_kafka_outq_len(handle)) records")
        }
        return Outcome(delivered: counts.delivered, failed: counts.failed, elapsed: elapsed)
    }

    /// Passes `data`'s bytes (NULL for `nil`, a non-NULL pointer for empty) to `body`.
    private static func withBytes<T>(_ data: [UInt8]?, _ body: (UnsafeRawPointer?, Int) -> T) -> T {
        guard let data else { return body(nil, 0) }
        guard !data.isEmpty else {
            let empty: UInt8 = 0
            return withUnsafePointer(to: empty) { body(UnsafeRawPointer($0), 0) }
        }
        return data.withUnsafeBytes { body($0.baseAddress, $0.count) }
    }
}
