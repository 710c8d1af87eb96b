import Foundation
import Metrics

/// The few numbers taken from librdkafka's statistics JSON (`statistics.interval.ms`).
///
/// See librdkafka's STATISTICS.md: top-level `msg_cnt`/`msg_size` are the producer queue depth,
/// `txmsgs`/`rxmsgs` the totals sent and received, and
/// `topics.<topic>.partitions.<n>.consumer_lag` the lag of each partition a consumer reads.
struct KafkaStatistics: Equatable, Sendable {
    /// The handle's name, for example `tributary#producer-1`.
    var handleName: String
    /// Records waiting in the producer queue.
    var queuedMessages: Int64
    /// Bytes waiting in the producer queue.
    var queuedBytes: Int64
    /// Records sent to brokers since the handle started.
    var transmittedMessages: Int64
    /// Records received from brokers since the handle started.
    var receivedMessages: Int64
    /// Consumer lag per partition, where librdkafka knows it.
    var consumerLag: [PartitionLag]

    /// The lag of one partition a consumer reads.
    struct PartitionLag: Equatable, Sendable {
        var topic: String
        var partition: Int
        var lag: Int64
    }

    /// Parses a statistics document; `nil` when it is not one.
    init?(json: Data) {
        guard let root = try? JSONSerialization.jsonObject(with: json) as? [String: Any] else { return nil }
        func integer(_ value: Any?) -> Int64? { (value as? NSNumber)?.int64Value }
        handleName = root["name"] as? String ?? "unknown"
        queuedMessages = integer(root["msg_cnt"]) ?? 0
        queuedBytes = integer(root["msg_size"]) ?? 0
        transmittedMessages = integer(root["txmsgs"]) ?? 0
        receivedMessages = integer(root["rxmsgs"]) ?? 0
        var lags: [PartitionLag] = []
        for (topic, topicValue) in root["topics"] as? [String: Any] ?? [:] {
            let partitions = (topicValue as? [String: Any])?["partitions"] as? [String: Any] ?? [:]
            for (key, partitionValue) in partitions {
                // Partition -1 is librdkafka's internal "unassigned" queue; lag -1 means unknown.
                guard let partition = Int(key), partition >= 0,
                    let lag = integer((partitionValue as? [String: Any])?["consumer_lag"]), lag >= 0
                else { continue }
                lags.append(PartitionLag(topic: topic, partition: partition, lag: lag))
            }
        }
        consumerLag = lags.sorted { ($0.topic, $0.partition) < ($1.topic, $1.partition) }
    }

    /// Records these numbers as swift-metrics gauges labelled `tributary_kafka_*`, with the
    /// handle name (and topic and partition for lag) as dimensions.
    func record() {
        let handle = [("handle", handleName)]
        Gauge(label: "tributary_kafka_queued_messages", dimensions: handle).record(queuedMessages)
        Gauge(label: "tributary_kafka_queued_bytes", dimensions: handle).record(queuedBytes)
        Gauge(label: "tributary_kafka_transmitted_messages", dimensions: handle).record(transmittedMessages)
        Gauge(label: "tributary_kafka_received_messages", dimensions: handle).record(receivedMessages)
        for lag in consumerLag {
            let dimensions = handle + [("topic", lag.topic), ("partition", String(lag.partition))]
            Gauge(label: "tributary_kafka_consumer_lag", dimensions: dimensions).record(lag.lag)
        }
    }
}
