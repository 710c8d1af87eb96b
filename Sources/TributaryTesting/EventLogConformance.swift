import EventLog
import Foundation
import Testing

/// The contract every ``EventLog`` implementation must meet, as checks a test target runs
/// against its own implementation (in-memory, embedded, Kafka on the mock cluster).
///
/// Each check takes a fresh ``EventLogSubject``: a way to open handles on one underlying store
/// and to create topics in it (the Kafka mock cluster cannot create topics through the admin API).
public struct EventLogSubject: Sendable {
    /// Opens a handle on the store; several handles see the same data.
    public var openLog: @Sendable () async throws -> any EventLog
    /// Creates a topic in the store.
    public var createTopic: @Sendable (TopicConfiguration) async throws -> Void
    /// Releases the store after the check.
    public var tearDown: @Sendable () async throws -> Void
    /// Compacts the store now, for logs that compact physically; `nil` for logs that never do
    /// (in-memory) or do it on their own schedule (Kafka).
    public var compactNow: (@Sendable () async throws -> Void)?

    /// Creates a subject.
    public init(
        openLog: @escaping @Sendable () async throws -> any EventLog,
        createTopic: @escaping @Sendable (TopicConfiguration) async throws -> Void,
        tearDown: @escaping @Sendable () async throws -> Void = {},
        compactNow: (@Sendable () async throws -> Void)? = nil
    ) {
        self.openLog = openLog
        self.createTopic = createTopic
        self.tearDown = tearDown
        self.compactNow = compactNow
    }
}

/// The conformance checks. Sizes stay well under the Kafka mock's 5 MiB per partition.
public enum EventLogConformance {
    /// Every check, by name, for parameterized tests.
    public static let checks: [String: @Sendable (EventLogSubject) async throws -> Void] = [
        "orderingPerKey": orderingPerKey,
        "noLoss": noLoss,
        "redeliveryAfterCrashBeforeCommit": redeliveryAfterCrashBeforeCommit,
        "resumeFromCommittedOffsets": resumeFromCommittedOffsets,
        "explicitPositionReads": explicitPositionReads,
        "compaction": compaction,
        "concurrentProducers": concurrentProducers,
        "twoConsumersSplitPartitions": twoConsumersSplitPartitions,
        "headersAndTombstonesRoundTrip": headersAndTombstonesRoundTrip,
    ]

    /// Records with one key keep their order and their partition.
    @Sendable public static func orderingPerKey(_ subject: EventLogSubject) async throws {
        let topic = "ordering"
        try await subject.createTopic(TopicConfiguration(name: topic, partitions: 3))
        let log = try await subject.openLog()
        let keys = (0..<8).map { "key-\($0)" }
        for batch in 0..<10 {
            let records = (0..<20).flatMap { index in
                keys.map { key in OutgoingRecord(topic: topic, key: key, value: payload("\(batch * 20 + index)")) }
            }
            _ = try await log.append(records)
        }
        let reader = try await log.makeReader(topic: topic, from: .earliest)
        let read = try await readRecords(reader, count: 1600)
        await reader.close()
        var sequences: [String: [Int]] = [:]
        var partitions: [String: Set<Int>] = [:]
        for record in read {
            let key = String(decoding: record.key ?? [], as: UTF8.self)
            sequences[key, default: []].append(Int(String(decoding: record.value ?? [], as: UTF8.self))!)
            partitions[key, default: []].insert(record.partition)
        }
        for key in keys {
            #expect(sequences[key] == Array(0..<200), "records of \(key) out of order or missing")
            #expect(partitions[key]?.count == 1, "records of \(key) spread over partitions \(partitions[key] ?? [])")
            let expected = Murmur2Partitioner.partition(forKey: Array(key.utf8), partitionCount: 3)
            #expect(partitions[key] == [expected], "\(key) is not on its murmur2 partition \(expected)")
        }
        try await log.shutdown()
    }

    /// A group consumer receives every appended record exactly once when it commits as it goes.
    @Sendable public static func noLoss(_ subject: EventLogSubject) async throws {
        let topic = "no-loss"
        try await subject.createTopic(TopicConfiguration(name: topic, partitions: 3))
        let log = try await subject.openLog()
        var appended: Set<String> = []
        for batch in 0..<20 {
            let records = (0..<100).map { index -> OutgoingRecord in
                let value = "record-\(batch)-\(index)"
                appended.insert(value)
                return OutgoingRecord(topic: topic, key: nil, value: payload(value))
            }
            let positions = try await log.append(records)
            #expect(positions.count == records.count)
        }
        let consumer = try await log.makeGroupConsumer(group: "no-loss-group", topics: [topic])
        var received: [String] = []
        while received.count < appended.count {
            let records = try await consumer.poll(maxRecords: 500, timeout: .seconds(30))
            guard !records.isEmpty else { break }
            received += records.map { String(decoding: $0.value ?? [], as: UTF8.self) }
            try await consumer.commit(through: records)
        }
        await consumer.close()
        #expect(received.count == appended.count)
        #expect(Set(received) == appended)
        try await log.shutdown()
    }

    /// Records read but not committed before a consumer dies come back to the next member.
    @Sendable public static func redeliveryAfterCrashBeforeCommit(_ subject: EventLogSubject) async throws {
        let topic = "redelivery"
        try await subject.createTopic(TopicConfiguration(name: topic, partitions: 1))
        let log = try await subject.openLog()
        _ = try await log.append((0..<100).map { OutgoingRecord(topic: topic, key: "k", value: payload("\($0)")) })
        let first = try await log.makeGroupConsumer(group: "crash-group", topics: [topic])
        let read = try await readRecords(first, count: 100)
        try await first.commit(through: Array(read.prefix(40)))
        await first.close()  // no commit for the other 60: as if it died before committing them
        let second = try await log.makeGroupConsumer(group: "crash-group", topics: [topic])
        let again = try await readRecords(second, count: 60)
        #expect(again.map(\.offset) == Array(40..<100))
        let extra = try await second.poll(maxRecords: 10, timeout: .milliseconds(300))
        #expect(extra.isEmpty, "records before the committed offset were redelivered")
        await second.close()
        try await log.shutdown()
    }

    /// A new member of a group resumes at the committed offsets, even from a new log handle.
    @Sendable public static func resumeFromCommittedOffsets(_ subject: EventLogSubject) async throws {
        let topic = "resume"
        try await subject.createTopic(TopicConfiguration(name: topic, partitions: 2))
        let log = try await subject.openLog()
        _ = try await log.append(
            (0..<50).map { OutgoingRecord(topic: topic, key: "k\($0)", value: payload("old-\($0)")) })
        let first = try await log.makeGroupConsumer(group: "resume-group", topics: [topic])
        try await first.commit(through: try await readRecords(first, count: 50))
        await first.close()
        try await log.shutdown()

        let reopened = try await subject.openLog()
        let committed = try await reopened.committedOffsets(group: "resume-group")
        #expect(committed.values.reduce(0, +) == 50)
        _ = try await reopened.append(
            (0..<30).map { OutgoingRecord(topic: topic, key: "k\($0)", value: payload("new-\($0)")) })
        let second = try await reopened.makeGroupConsumer(group: "resume-group", topics: [topic])
        let read = try await readRecords(second, count: 30)
        #expect(read.allSatisfy { String(decoding: $0.value ?? [], as: UTF8.self).hasPrefix("new-") })
        let extra = try await second.poll(maxRecords: 10, timeout: .milliseconds(300))
        #expect(extra.isEmpty)
        await second.close()
        try await reopened.shutdown()
    }

    /// Readers start at the earliest record, at the end, or at a given offset.
    @Sendable public static func explicitPositionReads(_ subject: EventLogSubject) async throws {
        let topic = "positions"
        try await subject.createTopic(TopicConfiguration(name: topic, partitions: 1))
        let log = try await subject.openLog()
        _ = try await log.append((0..<20).map { OutgoingRecord(topic: topic, key: "k", value: payload("\($0)")) })
        let partition = TopicPartition(topic: topic, partition: 0)

        let fromStart = try await log.makeReader(from: [partition: .earliest])
        #expect(try await readRecords(fromStart, count: 20).map(\.offset) == Array(0..<20))
        await fromStart.close()

        let fromOffset = try await log.makeReader(from: [partition: .offset(15)])
        #expect(try await readRecords(fromOffset, count: 5).map(\.offset) == Array(15..<20))
        await fromOffset.close()

        let fromEnd = try await log.makeReader(from: [partition: .latest])
        #expect(try await fromEnd.poll(maxRecords: 10, timeout: .milliseconds(300)).isEmpty)
        _ = try await log.append([OutgoingRecord(topic: topic, key: "k", value: payload("after"))])
        let after = try await readRecords(fromEnd, count: 1)
        #expect(after.map(\.offset) == [20])
        #expect(after.first?.value == payload("after"))
        await fromEnd.close()

        let description = try await log.describeTopic(topic)
        #expect(description.partitions.map(\.endOffset) == [21])
        try await log.shutdown()
    }

    /// A compacted topic yields the latest value per key; tombstones delete keys.
    @Sendable public static func compaction(_ subject: EventLogSubject) async throws {
        let topic = "compacted"
        try await subject.createTopic(TopicConfiguration(name: topic, partitions: 2, compacted: true))
        let log = try await subject.openLog()
        var expected: [String: String] = [:]
        for round in 0..<5 {
            let records = (0..<20).map {
                OutgoingRecord(topic: topic, key: "key-\($0)", value: payload("v\(round)-\($0)"))
            }
            _ = try await log.append(records)
            for index in 0..<20 { expected["key-\(index)"] = "v\(round)-\(index)" }
        }
        _ = try await log.append((0..<5).map { OutgoingRecord(topic: topic, key: "key-\($0)", value: nil) })
        for index in 0..<5 { expected.removeValue(forKey: "key-\(index)") }
        func materialized() async throws -> [String: String] {
            let view = try await CompactedTopicView.load(topic: topic, from: log)
            var actual: [String: String] = [:]
            for (key, record) in view.values {
                actual[String(decoding: key, as: UTF8.self)] = String(decoding: record.value ?? [], as: UTF8.self)
            }
            return actual
        }
        #expect(try await materialized() == expected)
        if let compactNow = subject.compactNow {
            try await compactNow()
            #expect(try await materialized() == expected, "compaction changed the latest values")
            let retained = try await log.describeTopic(topic).partitions.reduce(Int64(0)) {
                $0 + $1.endOffset - $1.startOffset
            }
            #expect(retained < 105, "compaction kept superseded records (\(retained) of 105 remain)")
        }
        try await log.shutdown()
    }

    /// Producers appending at once get distinct positions and lose nothing.
    @Sendable public static func concurrentProducers(_ subject: EventLogSubject) async throws {
        let topic = "concurrent"
        try await subject.createTopic(TopicConfiguration(name: topic, partitions: 3))
        let log = try await subject.openLog()
        let positions = try await withThrowingTaskGroup(of: [RecordPosition].self) { group in
            for producer in 0..<4 {
                group.addTask {
                    var positions: [RecordPosition] = []
                    for batch in 0..<10 {
                        let records = (0..<25).map {
                            OutgoingRecord(
                                topic: topic, key: "p\(producer)", value: payload("p\(producer)-\(batch * 25 + $0)"))
                        }
                        positions += try await log.append(records)
                    }
                    return positions
                }
            }
            return try await group.reduce(into: []) { $0 += $1 }
        }
        #expect(positions.count == 1000)
        #expect(Set(positions).count == 1000, "two records were given the same position")
        let reader = try await log.makeReader(topic: topic, from: .earliest)
        let read = try await readRecords(reader, count: 1000)
        await reader.close()
        for producer in 0..<4 {
            let values = read.filter { $0.key == Array("p\(producer)".utf8) }.map {
                String(decoding: $0.value ?? [], as: UTF8.self)
            }
            #expect(values == (0..<250).map { "p\(producer)-\($0)" })
        }
        try await log.shutdown()
    }

    /// Two members of one group own disjoint partitions that together cover the topic.
    @Sendable public static func twoConsumersSplitPartitions(_ subject: EventLogSubject) async throws {
        let topic = "split"
        try await subject.createTopic(TopicConfiguration(name: topic, partitions: 4))
        let log = try await subject.openLog()
        _ = try await log.append(
            (0..<400).map { OutgoingRecord(topic: topic, key: "key-\($0)", value: payload("\($0)")) })
        let first = try await log.makeGroupConsumer(group: "split-group", topics: [topic])
        let second = try await log.makeGroupConsumer(group: "split-group", topics: [topic])
        // Both poll until the group has settled with both members owning partitions.
        var received: [LogRecord] = []
        var assignments: (Set<TopicPartition>, Set<TopicPartition>) = ([], [])
        let deadline = ContinuousClock.now.advanced(by: .seconds(60))
        while ContinuousClock.now < deadline {
            async let a = first.poll(maxRecords: 200, timeout: .milliseconds(500))
            async let b = second.poll(maxRecords: 200, timeout: .milliseconds(500))
            let (recordsA, recordsB) = try await (a, b)
            received += recordsA + recordsB
            try await first.commit(through: recordsA)
            try await second.commit(through: recordsB)
            assignments = (try await first.assignment(), try await second.assignment())
            let settled = !assignments.0.isEmpty && !assignments.1.isEmpty
            if settled && Set(received.map(\.position)).count == 400 { break }
        }
        #expect(!assignments.0.isEmpty && !assignments.1.isEmpty, "one member got no partitions")
        #expect(assignments.0.isDisjoint(with: assignments.1))
        #expect(assignments.0.union(assignments.1).count == 4)
        #expect(Set(received.map(\.position)).count == 400, "records missing across the two members")
        await first.close()
        await second.close()
        try await log.shutdown()
    }

    /// Headers, empty values, missing keys and tombstones come back as they went in.
    @Sendable public static func headersAndTombstonesRoundTrip(_ subject: EventLogSubject) async throws {
        let topic = "round-trip"
        try await subject.createTopic(TopicConfiguration(name: topic, partitions: 1))
        let log = try await subject.openLog()
        let records = [
            OutgoingRecord(
                topic: topic, key: Array("a".utf8), value: [0, 1, 2, 255],
                headers: [
                    RecordHeader(name: "content-type", text: "application/json"), RecordHeader(name: "x", value: []),
                ]),
            OutgoingRecord(topic: topic, key: nil, value: []),
            OutgoingRecord(topic: topic, key: Array("b".utf8), value: nil),
        ]
        _ = try await log.append(records)
        let reader = try await log.makeReader(topic: topic, from: .earliest)
        let read = try await readRecords(reader, count: 3)
        await reader.close()
        #expect(read.map(\.key) == records.map(\.key))
        #expect(read.map(\.value) == records.map(\.value))
        #expect(read.map(\.headers) == records.map(\.headers))
        #expect(
            read.allSatisfy { abs($0.timestampMilliseconds - Int64(Date().timeIntervalSince1970 * 1000)) < 600_000 })
        try await log.shutdown()
    }

    // MARK: helpers

    /// Polls until `count` records arrived, failing after `timeout` without progress.
    public static func readRecords(
        _ reader: any LogReader, count: Int, timeout: Duration = .seconds(30)
    ) async throws -> [LogRecord] {
        var records: [LogRecord] = []
        while records.count < count {
            let batch = try await reader.poll(maxRecords: count - records.count, timeout: timeout)
            if batch.isEmpty {
                Issue.record("only \(records.count) of \(count) records arrived")
                break
            }
            records += batch
        }
        return records
    }

    /// UTF-8 bytes of `text`.
    public static func payload(_ text: String) -> [UInt8] { Array(text.utf8) }
}
