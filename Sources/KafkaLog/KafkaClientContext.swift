import CRdKafka
import EventLog
import Foundation
import Logging
import Synchronization

/// What librdkafka's callbacks of one handle reach through the handle's opaque pointer: the
/// logger, the delivery tracker (producers) and the last broker error (for error messages).
///
/// ``KafkaClient`` retains it (`Unmanaged.passRetained`) from before `rd_kafka_new` until after
/// `rd_kafka_destroy` has returned, when librdkafka has joined its threads and no callback can
/// run any more; the callbacks only borrow it (`takeUnretainedValue`).
final class KafkaClientContext: Sendable {
    /// Where librdkafka's log lines and errors go.
    let logger: Logger
    /// Delivery bookkeeping; only producer handles have one.
    let deliveries: DeliveryTracker?
    /// Whether the handle is a group member whose rebalance callback must assign and unassign.
    let isGroupMember: Bool
    private let lastError = Mutex<String?>(nil)
    private let statistics = Mutex<KafkaStatistics?>(nil)

    init(logger: Logger, deliveries: DeliveryTracker? = nil, isGroupMember: Bool = false) {
        self.logger = logger
        self.deliveries = deliveries
        self.isGroupMember = isGroupMember
    }

    /// The most recent error librdkafka reported through the error callback, if any.
    var lastErrorDescription: String? { lastError.withLock { $0 } }

    func recordError(_ description: String) {
        lastError.withLock { $0 = description }
    }

    /// The most recent statistics librdkafka reported, if any.
    var latestStatistics: KafkaStatistics? { statistics.withLock { $0 } }

    /// Keeps `report` as the latest statistics and records its gauges.
    func recordStatistics(_ report: KafkaStatistics) {
        statistics.withLock { $0 = report }
        report.record()
    }

    /// Installs the callbacks on `conf` with `opaque` (this context) as their state.
    func install(on conf: OpaquePointer, opaque: UnsafeMutableRawPointer) {
        rd_kafka_conf_set_opaque(conf, opaque)
        rd_kafka_conf_set_log_cb(conf, kafkaLogCallback)
        rd_kafka_conf_set_error_cb(conf, kafkaErrorCallback)
        rd_kafka_conf_set_stats_cb(conf, kafkaStatisticsCallback)
        if deliveries != nil { rd_kafka_conf_set_dr_msg_cb(conf, kafkaDeliveryCallback) }
        if isGroupMember { rd_kafka_conf_set_rebalance_cb(conf, kafkaRebalanceCallback) }
    }

    /// The context behind a callback's opaque pointer.
    static func borrow(_ opaque: UnsafeMutableRawPointer?) -> KafkaClientContext? {
        opaque.map { Unmanaged<KafkaClientContext>.fromOpaque($0).takeUnretainedValue() }
    }
}

// The callbacks are plain C function pointers: no captures, state only through the opaque.

/// librdkafka log lines (from its internal threads) into swift-log, mapping syslog levels.
private func kafkaLogCallback(
    handle: OpaquePointer?, level: Int32, facility: UnsafePointer<CChar>?, message: UnsafePointer<CChar>?
) {
    guard let handle, let context = KafkaClientContext.borrow(rd_kafka_opaque(handle)) else { return }
    let logLevel: Logger.Level =
        switch level {
        case ...2: .critical
        case 3: .error
        case 4: .warning
        case 5: .notice
        case 6: .info
        default: .debug
        }
    let facilityText = facility.map { String(cString: $0) } ?? "-"
    let text = message.map { String(cString: $0) } ?? ""
    context.logger.log(
        level: logLevel, "\(text)", metadata: ["kafka.facility": "\(facilityText)"], source: "librdkafka")
}

/// Client-level errors (brokers down, fatal idempotence errors): remembered for error messages.
private func kafkaErrorCallback(
    handle: OpaquePointer?, code: Int32, reason: UnsafePointer<CChar>?, opaque: UnsafeMutableRawPointer?
) {
    guard let context = KafkaClientContext.borrow(opaque) else { return }
    let error = rd_kafka_resp_err_t(code)
    var text = reason.map { String(cString: $0) } ?? String(cString: rd_kafka_err2str(error))
    if error == RD_KAFKA_RESP_ERR__FATAL, let handle {
        var buffer = [CChar](repeating: 0, count: 512)
        let underlying = rd_kafka_fatal_error(handle, &buffer, buffer.count)
        text = "fatal: \(String(cString: rd_kafka_err2str(underlying))): \(String(cBuffer: buffer))"
        context.logger.critical("\(text)", source: "librdkafka")
    } else {
        // librdkafka also logs these through the log callback; here they are only remembered.
        context.logger.debug("\(text)", source: "librdkafka")
    }
    context.recordError(text)
}

/// Statistics JSON into swift-metrics gauges. Returning 0 lets librdkafka free the JSON.
private func kafkaStatisticsCallback(
    handle: OpaquePointer?, json: UnsafeMutablePointer<CChar>?, length: Int, opaque: UnsafeMutableRawPointer?
) -> Int32 {
    guard let json, let context = KafkaClientContext.borrow(opaque) else { return 0 }
    if let report = KafkaStatistics(json: Data(bytes: json, count: length)) { context.recordStatistics(report) }
    return 0
}

/// Delivery reports (served by the producer's poll thread) gathered for the delivery tracker.
private func kafkaDeliveryCallback(
    handle: OpaquePointer?, message: UnsafePointer<rd_kafka_message_t>?, opaque: UnsafeMutableRawPointer?
) {
    guard let message, let context = KafkaClientContext.borrow(opaque), let deliveries = context.deliveries
    else { return }
    let report = message.pointee
    let key = UInt(bitPattern: report._private)
    if report.err == RD_KAFKA_RESP_ERR_NO_ERROR {
        let delivery = DeliveryTracker.Delivery(partition: report.partition, offset: report.offset)
        deliveries.gather(opaque: key, outcome: .success(delivery))
    } else {
        let topic = report.rkt.map { String(cString: rd_kafka_topic_name($0)) } ?? "?"
        let error = EventLogError(kafka: report.err, "appending to '\(topic)'")
        deliveries.gather(opaque: key, outcome: .failure(error))
    }
}

/// Eager rebalancing for group members: assign what the group gives, unassign what it takes.
/// It never commits: members commit explicitly, and the 2.0.2 mock rejects commits mid-rebalance.
private func kafkaRebalanceCallback(
    handle: OpaquePointer?, error: rd_kafka_resp_err_t,
    partitions: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?,
    opaque: UnsafeMutableRawPointer?
) {
    guard let handle else { return }
    let context = KafkaClientContext.borrow(opaque)
    let described = partitions.map(describe) ?? "[]"
    let result: rd_kafka_resp_err_t
    if error == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS {
        context?.logger.debug("group assigned \(described)")
        result = rd_kafka_assign(handle, partitions)
    } else {
        context?.logger.debug("group revoked \(described) (\(String(cString: rd_kafka_err2str(error))))")
        result = rd_kafka_assign(handle, nil)
    }
    if result != RD_KAFKA_RESP_ERR_NO_ERROR {
        context?.logger.warning("rebalance assign failed: \(String(cString: rd_kafka_err2str(result)))")
    }
}

/// `topic[partition]` items of a partition list, for logs.
func describe(_ list: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>) -> String {
    let items = (0..<Int(list.pointee.cnt)).map { index in
        let element = list.pointee.elems[index]
        return "\(String(cString: element.topic))[\(element.partition)]"
    }
    return "[" + items.joined(separator: ", ") + "]"
}
