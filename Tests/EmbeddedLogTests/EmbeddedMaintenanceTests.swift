import EmbeddedLog
import EventLog
import Foundation
import Testing
import TributaryTesting

/// Retention and compaction of the embedded log, driven with an explicit clock.
@Suite struct EmbeddedMaintenanceTests {
    static func withLog(_ body: (EmbeddedEventLog) async throws -> Void) async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let log = try EmbeddedEventLog(configuration: EmbeddedLogConfiguration(directory: directory.path))
        try await body(log)
        try await log.shutdown()
    }

    static func values(_ log: EmbeddedEventLog, topic: String) async throws -> [String] {
        let description = try await log.describeTopic(topic)
        let count = description.partitions.reduce(0) { $0 + Int($1.endOffset - $1.startOffset) }
        guard count > 0 else { return [] }
        let reader = try await log.makeReader(topic: topic, from: .earliest)
        let records = try await EventLogConformance.readRecords(reader, count: count)
        await reader.close()
        return records.map { String(decoding: $0.value ?? [], as: UTF8.self) }
    }

    @Test func retentionByAgeDeletesOnlyOldRecordsAndKeepsOffsets() async throws {
        try await Self.withLog { log in
            try await log.createTopic(TopicConfiguration(name: "aged", partitions: 1, retentionAge: .seconds(3600)))
            _ = try await log.append(
                (0..<10).map { OutgoingRecord(topic: "aged", key: nil, value: Array("v\($0)".utf8)) })
            try await log.runMaintenance(asOf: Date())
            #expect(try await Self.values(log, topic: "aged").count == 10, "records younger than the age were deleted")
            try await log.runMaintenance(asOf: Date().addingTimeInterval(7200))
            let description = try await log.describeTopic("aged")
            #expect(description.partitions[0].startOffset == 10)
            #expect(description.partitions[0].endOffset == 10, "offsets must not go back when a partition empties")
            let positions = try await log.append([OutgoingRecord(topic: "aged", key: nil, value: Array("new".utf8))])
            #expect(positions.first?.offset == 10)
        }
    }

    @Test func retentionBySizeKeepsTheNewestRecordsWithinTheLimit() async throws {
        try await Self.withLog { log in
            try await log.createTopic(TopicConfiguration(name: "sized", partitions: 1, retentionBytes: 1000))
            _ = try await log.append(
                (0..<100).map {
                    OutgoingRecord(topic: "sized", key: nil, value: Array(String(format: "%099d", $0).utf8))
                })
            try await log.runMaintenance()
            let remaining = try await Self.values(log, topic: "sized")
            #expect(remaining.count == 10)
            #expect(remaining.last == String(format: "%099d", 99))
            #expect(remaining.first == String(format: "%099d", 90))
        }
    }

    @Test func compactionKeepsLatestPerKeyAndTheViewIsUnchanged() async throws {
        try await Self.withLog { log in
            try await log.createTopic(TopicConfiguration(name: "registry", partitions: 1, compacted: true))
            for round in 0..<10 {
                _ = try await log.append(
                    (0..<5).map { OutgoingRecord(topic: "registry", key: "k\($0)", value: Array("r\(round)".utf8)) })
            }
            _ = try await log.append([OutgoingRecord(topic: "registry", key: "k0", value: nil)])
            let before = try await CompactedTopicView.load(topic: "registry", from: log)
            try await log.runMaintenance()
            let after = try await CompactedTopicView.load(topic: "registry", from: log)
            #expect(before.values.mapValues(\.value) == after.values.mapValues(\.value))
            #expect(after.values.count == 4)
            // k1…k4 latest values and the fresh k0 tombstone remain; superseded records are gone.
            let description = try await log.describeTopic("registry")
            #expect(description.partitions[0].endOffset == 51)
            let reader = try await log.makeReader(topic: "registry", from: .earliest)
            let remaining = try await EventLogConformance.readRecords(reader, count: 5)
            await reader.close()
            #expect(remaining.map(\.offset) == [46, 47, 48, 49, 50])
            #expect(remaining.last?.value == nil)

            // Once the tombstone is older than the tombstone retention it goes too, unless it is
            // the partition's last record.
            _ = try await log.append([OutgoingRecord(topic: "registry", key: "k1", value: Array("final".utf8))])
            try await log.runMaintenance(asOf: Date().addingTimeInterval(2 * 86_400))
            let reader2 = try await log.makeReader(topic: "registry", from: .earliest)
            let compacted = try await EventLogConformance.readRecords(reader2, count: 4)
            await reader2.close()
            #expect(compacted.map(\.offset) == [47, 48, 49, 51])
        }
    }
}
