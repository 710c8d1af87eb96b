import EventLog
import Testing

/// What roles read off records: the offsets to commit after a batch and the value's content type.
@Suite struct LogRecordTests {
    private func record(_ topic: String, _ partition: Int, _ offset: Int64, headers: [RecordHeader] = []) -> LogRecord {
        LogRecord(
            topic: topic, partition: partition, offset: offset, key: nil, value: nil, headers: headers,
            timestampMilliseconds: 0)
    }

    /// Per partition, the offset after the highest one handled, however the batch's records of
    /// different partitions and topics interleave.
    @Test func eachPartitionCommitsPastItsHighestOffset() {
        let records = [
            record("a", 0, 4), record("a", 0, 5), record("a", 1, 9), record("a", 0, 7), record("b", 0, 2),
            record("b", 0, 1), record("a", 1, 3), record("a", 2, 0),
        ]
        #expect(
            records.nextOffsets == [
                TopicPartition(topic: "a", partition: 0): 8, TopicPartition(topic: "a", partition: 1): 10,
                TopicPartition(topic: "a", partition: 2): 1, TopicPartition(topic: "b", partition: 0): 3,
            ])
        #expect([LogRecord]().nextOffsets.isEmpty)
    }

    /// The last `content-type` header, whatever its value; none without one or with invalid UTF-8.
    @Test func contentTypeIsTheLastHeaderOfThatName() {
        func type(_ values: [[UInt8]]) -> String? {
            record("a", 0, 0, headers: values.map { RecordHeader(name: "content-type", value: $0) }).contentType
        }
        #expect(type([Array("application/json".utf8)]) == "application/json")
        #expect(
            type([Array("application/json".utf8), Array("application/x-protobuf".utf8)]) == "application/x-protobuf")
        #expect(type([Array("application/json; charset=utf-8".utf8)]) == "application/json; charset=utf-8")
        #expect(type([Array("application/jso".utf8)]) == "application/jso")
        #expect(type([[0xFF]]) == nil)
        #expect(type([]) == nil)
    }
}
