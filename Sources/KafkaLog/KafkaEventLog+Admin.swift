import CRdKafka
import EventLog
import Foundation

extension KafkaEventLog {
    /// Creates a topic with the admin API, or does nothing when it exists with the same
    /// partition count.
    ///
    /// Looks at the metadata of all topics first (which never auto-creates one), then sends
    /// CreateTopics with the partition count, ``KafkaConfiguration/replicationFactor``,
    /// `cleanup.policy=compact` for compacted topics and `retention.ms` / `retention.bytes`.
    /// A concurrent creation (`TOPIC_ALREADY_EXISTS`) counts as success.
    ///
    /// - Throws: ``EventLogError`` `.invalidArgument` for a bad configuration, `.conflict` when
    ///   the topic exists with another partition count, `.timeout` / `.unavailable` when the
    ///   cluster does not answer within ``KafkaConfiguration/operationTimeout``.
    public func createTopic(_ topic: TopicConfiguration) async throws {
        try validate(topic)
        let timeout = configuration.operationTimeout
        let replicationFactor = configuration.replicationFactor
        try await producer.client.perform { [client = producer.client] handle in
            if let existing = try client.partitionCounts(timeout: timeout)[topic.name] {
                guard existing == topic.partitions else {
                    throw EventLogError(
                        .conflict, "topic '\(topic.name)' exists with \(existing) partitions, not \(topic.partitions)")
                }
                return
            }
            try Self.sendCreateTopics(topic, replicationFactor: replicationFactor, handle: handle, timeout: timeout)
            try Self.awaitTopicInMetadata(topic.name, client: client, timeout: timeout)
        }
        producer.invalidateMetadata()
    }

    private static func sendCreateTopics(
        _ topic: TopicConfiguration, replicationFactor: Int, handle: OpaquePointer, timeout: Duration
    ) throws {
        var errorText = [CChar](repeating: 0, count: 512)
        guard
            let newTopic = rd_kafka_NewTopic_new(
                topic.name, Int32(topic.partitions), Int32(replicationFactor), &errorText, errorText.count)
        else {
            throw EventLogError(.invalidArgument, "topic '\(topic.name)': \(String(cBuffer: errorText))")
        }
        defer { rd_kafka_NewTopic_destroy(newTopic) }
        var settings: [(String, String)] = []
        if topic.compacted {
            settings.append(("cleanup.policy", "compact"))
        } else if let milliseconds = topic.retentionMilliseconds {
            settings.append(("retention.ms", String(milliseconds)))
        }
        if let bytes = topic.retentionBytes { settings.append(("retention.bytes", String(bytes))) }
        for (name, value) in settings {
            let result = rd_kafka_NewTopic_set_config(newTopic, name, value)
            guard result == RD_KAFKA_RESP_ERR_NO_ERROR else {
                throw EventLogError(kafka: result, "setting \(name)=\(value) on topic '\(topic.name)'")
            }
        }
        let options = rd_kafka_AdminOptions_new(handle, RD_KAFKA_ADMIN_OP_CREATETOPICS)!
        defer { rd_kafka_AdminOptions_destroy(options) }
        _ = rd_kafka_AdminOptions_set_request_timeout(options, timeout.timeoutMilliseconds, &errorText, errorText.count)
        _ = rd_kafka_AdminOptions_set_operation_timeout(
            options, timeout.timeoutMilliseconds, &errorText, errorText.count)
        let resultQueue = rd_kafka_queue_new(handle)!
        defer { rd_kafka_queue_destroy(resultQueue) }
        var topics: [OpaquePointer?] = [newTopic]
        rd_kafka_CreateTopics(handle, &topics, 1, options, resultQueue)
        // The request timeout bounds the wait; the margin covers librdkafka's own bookkeeping.
        guard let event = rd_kafka_queue_poll(resultQueue, (timeout + .seconds(2)).timeoutMilliseconds) else {
            throw EventLogError(
                .timeout,
                "creating topic '\(topic.name)' got no answer within \(timeout): check the brokers"
                    + " (librdkafka's mock cluster does not support CreateTopics; use KafkaMockCluster.createTopic)")
        }
        defer { rd_kafka_event_destroy(event) }
        let eventError = rd_kafka_event_error(event)
        guard eventError == RD_KAFKA_RESP_ERR_NO_ERROR else {
            let detail = rd_kafka_event_error_string(event).map { String(cString: $0) }
            throw EventLogError(kafka: eventError, "creating topic '\(topic.name)'", detail: detail)
        }
        var count = 0
        guard let result = rd_kafka_event_CreateTopics_result(event),
            let results = rd_kafka_CreateTopics_result_topics(result, &count)
        else { return }
        for index in 0..<count {
            let topicResult = results[index]
            let error = rd_kafka_topic_result_error(topicResult)
            guard error != RD_KAFKA_RESP_ERR_NO_ERROR, error != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS else { continue }
            let detail = rd_kafka_topic_result_error_string(topicResult).map { String(cString: $0) }
            throw EventLogError(kafka: error, "creating topic '\(topic.name)'", detail: detail)
        }
    }

    /// Waits (blocking, on the producer's queue) until the metadata shows the new topic, so an
    /// append right after ``createTopic(_:)`` finds it.
    private static func awaitTopicInMetadata(_ name: String, client: KafkaClient, timeout: Duration) throws {
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: timeout)
        while try client.partitionCounts(timeout: timeout)[name] == nil {
            guard clock.now < deadline else {
                throw EventLogError(
                    .timeout, "topic '\(name)' was created but did not appear in metadata within \(timeout)")
            }
            Thread.sleep(forTimeInterval: 0.05)
        }
    }

    /// The committed offsets of `group` for every partition of every topic, read with a
    /// temporary consumer handle (`rd_kafka_committed`) that never joins the group. Partitions
    /// without a committed offset are left out.
    public func committedOffsets(group: String) async throws -> [TopicPartition: Int64] {
        guard !group.isEmpty else { throw EventLogError(.invalidArgument, "the group name is empty") }
        let timeout = configuration.operationTimeout
        let client = try KafkaClient(
            kind: RD_KAFKA_CONSUMER,
            properties: try configuration.consumerProperties(
                group: group, autoOffsetReset: "earliest", logLevel: logger.logLevel),
            context: KafkaClientContext(logger: logger), label: "tributary.kafka.committed")
        return try await client.perform { handle in
            defer { client.destroy() }
            let counts = try client.partitionCounts(timeout: timeout)
            let total = counts.values.reduce(0, +)
            guard total > 0 else { return [:] }
            let list = rd_kafka_topic_partition_list_new(Int32(total))!
            defer { rd_kafka_topic_partition_list_destroy(list) }
            for (topic, count) in counts {
                for partition in 0..<count { rd_kafka_topic_partition_list_add(list, topic, Int32(partition)) }
            }
            let result = rd_kafka_committed(handle, list, timeout.timeoutMilliseconds)
            guard result == RD_KAFKA_RESP_ERR_NO_ERROR else {
                throw client.unreachable(result, "reading the committed offsets of group '\(group)'", timeout: timeout)
            }
            var offsets: [TopicPartition: Int64] = [:]
            for index in 0..<Int(list.pointee.cnt) {
                let element = list.pointee.elems[index]
                guard element.err == RD_KAFKA_RESP_ERR_NO_ERROR, element.offset >= 0 else { continue }
                offsets[TopicPartition(topic: String(cString: element.topic), partition: Int(element.partition))] =
                    element.offset
            }
            return offsets
        }
    }
}
