import EventLog
import KafkaLog
import Testing
import TributaryTesting

@Suite("Kafka log under broker failures", .timeLimit(.minutes(2)))
struct KafkaFailureTests {
    @Test("appends during a broker outage complete after the brokers return, without loss or duplicates")
    func brokerOutageLosesNothing() async throws {
        let cluster = try KafkaTestCluster()
        let topic = "outage"
        try await cluster.createTopic(TopicConfiguration(name: topic, partitions: 3))
        let log = try cluster.openLog()
        let before = (0..<100).map {
            OutgoingRecord(topic: topic, key: "k\($0 % 10)", value: Array("before-\($0)".utf8))
        }
        _ = try await log.append(before)

        try await cluster.setAllBrokersDown(true)
        let during = (0..<200).map {
            OutgoingRecord(topic: topic, key: "k\($0 % 10)", value: Array("during-\($0)".utf8))
        }
        let pending = Task { try await log.append(during) }
        try await Task.sleep(for: .seconds(2))  // the outage itself, not a wait for a result
        try await cluster.setAllBrokersDown(false)
        let positions = try await pending.value
        #expect(positions.count == during.count)
        #expect(Set(positions).count == during.count)

        let reader = try await log.makeReader(topic: topic, from: .earliest)
        let read = try await EventLogConformance.readRecords(reader, count: 300)
        #expect(
            try await reader.poll(maxRecords: 10, timeout: .milliseconds(500)).isEmpty, "duplicates after the outage")
        await reader.close()
        let values = read.map { String(decoding: $0.value ?? [], as: UTF8.self) }
        #expect(values.count == 300)
        #expect(Set(values) == Set((before + during).map { String(decoding: $0.value!, as: UTF8.self) }))
        let description = try await log.describeTopic(topic)
        #expect(description.partitions.map(\.endOffset).reduce(0, +) == 300)
        try await log.shutdown()
        await cluster.close()
    }

    @Test("an append waiting for room in a full producer queue can be cancelled, and the log keeps serving")
    func cancelWhileQueueFull() async throws {
        let cluster = try KafkaTestCluster()
        try await cluster.createTopic(TopicConfiguration(name: "full", partitions: 2))
        let log = try cluster.openLog { $0.maxQueuedMessages = 50 }
        _ = try await log.append([OutgoingRecord(topic: "full", key: "first", value: [1])])  // caches the metadata
        try await cluster.setAllBrokersDown(true)
        let records = (0..<1_000).map { OutgoingRecord(topic: "full", key: "k\($0 % 20)", value: Array("\($0)".utf8)) }
        let stuck = Task { try await log.append(records) }
        try await Task.sleep(for: .milliseconds(500))  // lets the queue fill; not a wait for a result
        stuck.cancel()
        await #expect(throws: CancellationError.self) { try await stuck.value }
        try await cluster.setAllBrokersDown(false)
        let after = (0..<10).map { OutgoingRecord(topic: "full", key: "after", value: Array("after-\($0)".utf8)) }
        #expect(try await log.append(after).count == 10)
        try await log.shutdown()
        await cluster.close()
    }

    @Test("an unreachable broker gives a clear error instead of hanging")
    func unreachableBroker() async throws {
        let configuration = KafkaConfiguration(
            bootstrapServers: "127.0.0.1:1", messageTimeout: .seconds(2), operationTimeout: .seconds(2))
        let log = try KafkaEventLog(configuration: configuration)
        let record = OutgoingRecord(topic: "anything", key: "k", value: Array("v".utf8))
        let appendError = await #expect(throws: EventLogError.self) { try await log.append([record]) }
        #expect(appendError.map { [.unavailable, .timeout].contains($0.code) } == true)
        #expect(appendError?.reason.contains("127.0.0.1:1") == true, "the error does not name the brokers")
        let describeError = await #expect(throws: EventLogError.self) { try await log.describeTopics() }
        #expect(describeError.map { [.unavailable, .timeout].contains($0.code) } == true)
        try await log.shutdown()
    }
}
