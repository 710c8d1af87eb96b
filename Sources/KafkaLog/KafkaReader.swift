import EventLog

/// A ``LogReader`` over explicit partitions: a consumer handle that is assigned, never subscribed.
///
/// librdkafka 2.0.2 refuses `rd_kafka_assign` and `rd_kafka_consumer_poll` without a `group.id`
/// (`Local: Unknown group`), so each reader gets a unique throwaway group id; it never joins
/// the group and never commits, so the group leaves no state on the brokers.
final class KafkaReader: LogReader {
    let consumer: KafkaConsumer

    init(consumer: KafkaConsumer) {
        self.consumer = consumer
    }

    func poll(maxRecords: Int, timeout: Duration) async throws -> [LogRecord] {
        try await consumer.poll(maxRecords: maxRecords, timeout: timeout)
    }

    func close() async {
        await consumer.close()
    }
}
