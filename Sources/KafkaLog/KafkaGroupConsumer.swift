import CRdKafka
import EventLog
import Logging

/// A ``GroupConsumer``: a subscribed consumer handle whose rebalance callback assigns eagerly
/// and which commits only when asked, synchronously.
final class KafkaGroupConsumer: GroupConsumer {
    let consumer: KafkaConsumer
    let group: String

    init(consumer: KafkaConsumer, group: String) {
        self.consumer = consumer
        self.group = group
    }

    func poll(maxRecords: Int, timeout: Duration) async throws -> [LogRecord] {
        try await consumer.poll(maxRecords: maxRecords, timeout: timeout)
    }

    func commit(_ offsets: [TopicPartition: Int64]) async throws {
        guard !offsets.isEmpty else { return }
        guard !consumer.isClosed else { throw EventLogError(.closed, "the Kafka group consumer is closed") }
        let group = group
        try await consumer.client.perform { [client = consumer.client] handle in
            try Self.commit(offsets, handle: handle, context: client.context, group: group)
        }
    }

    func assignment() async throws -> Set<TopicPartition> {
        guard !consumer.isClosed else { throw EventLogError(.closed, "the Kafka group consumer is closed") }
        return try await consumer.client.perform { handle in try Self.assignment(handle) }
    }

    func close() async {
        await consumer.close()
    }

    private static func assignment(_ handle: OpaquePointer) throws -> Set<TopicPartition> {
        var list: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?
        let result = rd_kafka_assignment(handle, &list)
        guard result == RD_KAFKA_RESP_ERR_NO_ERROR, let list else {
            throw EventLogError(kafka: result, "reading the group assignment")
        }
        defer { rd_kafka_topic_partition_list_destroy(list) }
        return Set(
            (0..<Int(list.pointee.cnt)).map { index in
                let element = list.pointee.elems[index]
                return TopicPartition(topic: String(cString: element.topic), partition: Int(element.partition))
            })
    }

    /// Commits the offsets of owned partitions synchronously. A commit the group rejects because
    /// it is rebalancing is skipped like one for a partition no longer owned: its records are
    /// redelivered, which at-least-once delivery allows.
    private static func commit(
        _ offsets: [TopicPartition: Int64], handle: OpaquePointer, context: KafkaClientContext, group: String
    ) throws {
        let owned = try assignment(handle)
        let kept = offsets.filter { owned.contains($0.key) }.sorted { $0.key < $1.key }
        guard !kept.isEmpty else { return }
        let list = rd_kafka_topic_partition_list_new(Int32(kept.count))!
        defer { rd_kafka_topic_partition_list_destroy(list) }
        for (partition, offset) in kept {
            rd_kafka_topic_partition_list_add(list, partition.topic, Int32(partition.partition)).pointee.offset = offset
        }
        let result = rd_kafka_commit(handle, list, 0)
        switch result {
        case RD_KAFKA_RESP_ERR_NO_ERROR, RD_KAFKA_RESP_ERR__NO_OFFSET:
            return
        case RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS, RD_KAFKA_RESP_ERR_ILLEGAL_GENERATION,
            RD_KAFKA_RESP_ERR_UNKNOWN_MEMBER_ID, RD_KAFKA_RESP_ERR__ASSIGNMENT_LOST:
            context.logger.debug(
                "commit to group '\(group)' skipped during a rebalance: \(String(cString: rd_kafka_err2str(result)))")
        default:
            throw EventLogError(kafka: result, "committing offsets of group '\(group)'")
        }
    }
}
