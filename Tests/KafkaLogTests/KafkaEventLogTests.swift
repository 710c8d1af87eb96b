import EventLog
import Foundation
import Testing
import TributaryTesting

@testable import KafkaLog

@Suite("Kafka log behaviour beyond the conformance suite", .timeLimit(.minutes(2)))
struct KafkaEventLogTests {
    @Test("createTopic is a no-op for an existing topic and a conflict for another partition count")
    func createTopicOnExistingTopic() async throws {
        let cluster = try KafkaTestCluster()
        try await cluster.createTopic(TopicConfiguration(name: "existing", partitions: 2))
        let log = try cluster.openLog()
        try await log.createTopic(TopicConfiguration(name: "existing", partitions: 2))
        let error = await #expect(throws: EventLogError.self) {
            try await log.createTopic(TopicConfiguration(name: "existing", partitions: 5))
        }
        #expect(error?.code == .conflict)
        await #expect(throws: EventLogError.self) { try await log.createTopic(TopicConfiguration(name: "bad name!")) }
        #expect(try await log.describeTopic("existing").partitions.count == 2)
        try await log.shutdown()
        await cluster.close()
    }

    @Test("appending to a missing topic fails with unknownTopic and does not auto-create it")
    func appendToMissingTopic() async throws {
        let cluster = try KafkaTestCluster()
        let log = try cluster.openLog()
        let error = await #expect(throws: EventLogError.self) {
            try await log.append([OutgoingRecord(topic: "missing", key: "k", value: [1])])
        }
        #expect(error?.code == .unknownTopic)
        #expect(try await log.describeTopics().map(\.name).contains("missing") == false)
        try await cluster.createTopic(TopicConfiguration(name: "present", partitions: 2))
        let outOfRange = await #expect(throws: EventLogError.self) {
            try await log.append([OutgoingRecord(topic: "present", key: nil, value: [1], partition: 2)])
        }
        #expect(outOfRange?.code == .invalidArgument)
        let explicit = try await log.append([OutgoingRecord(topic: "present", key: nil, value: [1], partition: 1)])
        #expect(explicit.map(\.partition) == [1])
        try await log.shutdown()
        await cluster.close()
    }

    @Test("a group cannot start at an explicit offset, and a closed log refuses work")
    func invalidUse() async throws {
        let cluster = try KafkaTestCluster()
        try await cluster.createTopic(TopicConfiguration(name: "t", partitions: 1))
        let log = try cluster.openLog()
        let error = await #expect(throws: EventLogError.self) {
            _ = try await log.makeGroupConsumer(group: "g", topics: ["t"], initialPosition: .offset(3))
        }
        #expect(error?.code == .invalidArgument)
        let reader = try await log.makeReader(topic: "t", from: .earliest)
        try await log.shutdown()
        let closedRead = await #expect(throws: EventLogError.self) {
            _ = try await reader.poll(maxRecords: 1, timeout: .milliseconds(10))
        }
        #expect(closedRead?.code == .closed, "shutdown did not close the open reader")
        let closedAppend = await #expect(throws: EventLogError.self) {
            _ = try await log.append([OutgoingRecord(topic: "t", key: "k", value: [1])])
        }
        #expect(closedAppend?.code == .closed)
        await cluster.close()
    }

    @Test("a reserved librdkafka property in extraProperties is rejected")
    func reservedProperty() throws {
        let configuration = KafkaConfiguration(extraProperties: ["partitioner": "consistent_random"])
        let error = #expect(throws: EventLogError.self) { try KafkaEventLog(configuration: configuration) }
        #expect(error?.code == .invalidArgument)
    }

    @Test("appends larger than the producer queue wait for room instead of failing")
    func boundedQueue() async throws {
        let cluster = try KafkaTestCluster()
        try await cluster.createTopic(TopicConfiguration(name: "bounded", partitions: 2))
        let log = try cluster.openLog { $0.maxQueuedMessages = 50 }
        let records = (0..<2_000).map {
            OutgoingRecord(topic: "bounded", key: "k\($0 % 20)", value: Array("\($0)".utf8))
        }
        let positions = try await log.append(records)
        #expect(Set(positions).count == records.count)
        #expect(try await log.describeTopic("bounded").partitions.map(\.endOffset).reduce(0, +) == 2_000)
        try await log.shutdown()
        await cluster.close()
    }
}

@Suite("Kafka log resources and statistics", .timeLimit(.minutes(2)))
struct KafkaEventLogResourceTests {
    @Test("librdkafka statistics reach the log: transmitted records are counted")
    func statisticsArrive() async throws {
        let cluster = try KafkaTestCluster()
        try await cluster.createTopic(TopicConfiguration(name: "stats", partitions: 1))
        let log = try cluster.openLog { $0.statisticsInterval = .milliseconds(100) }
        _ = try await log.append((0..<25).map { OutgoingRecord(topic: "stats", key: "k", value: [UInt8($0)]) })
        let context = log.producer.client.context
        let deadline = ContinuousClock.now.advanced(by: .seconds(10))
        while (context.latestStatistics?.transmittedMessages ?? 0) < 25, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(50))
        }
        let statistics = try #require(context.latestStatistics, "no statistics callback within 10 s")
        #expect(statistics.transmittedMessages >= 25)
        #expect(statistics.handleName.hasPrefix("tributary-test#producer"))
        try await log.shutdown()
        await cluster.close()
    }

    @Test("the raw librdkafka baseline delivers every record with the log's producer settings")
    func rawBaseline() async throws {
        let cluster = try KafkaTestCluster()
        try await cluster.createTopic(TopicConfiguration(name: "baseline", partitions: 3))
        let records = (0..<500).map {
            OutgoingRecord(topic: "baseline", key: "k\($0 % 13)", value: Array("\($0)".utf8))
        }
        let outcome = try await RawKafkaProducerBaseline.produce(records, configuration: cluster.configuration)
        #expect(outcome.delivered == 500)
        #expect(outcome.failed == 0)
        let log = try cluster.openLog()
        let reader = try await log.makeReader(topic: "baseline", from: .earliest)
        let read = try await EventLogConformance.readRecords(reader, count: 500)
        await reader.close()
        #expect(read.allSatisfy { $0.partition == Murmur2Partitioner.partition(forKey: $0.key!, partitionCount: 3) })
        try await log.shutdown()
        await cluster.close()
    }

    @Test("a log, reader and group member dropped without shutdown release their handles without crashing")
    func dropWithoutShutdown() async throws {
        let cluster = try KafkaTestCluster()
        try await cluster.createTopic(TopicConfiguration(name: "dropped", partitions: 2))
        do {
            let log = try cluster.openLog()
            _ = try await log.append((0..<10).map { OutgoingRecord(topic: "dropped", key: "k\($0)", value: [1]) })
            let reader = try await log.makeReader(topic: "dropped", from: .earliest)
            #expect(try await EventLogConformance.readRecords(reader, count: 10).count == 10)
            let member = try await log.makeGroupConsumer(group: "dropped-group", topics: ["dropped"])
            _ = try await member.poll(maxRecords: 1, timeout: .milliseconds(100))
            // No close, no shutdown: the handles are destroyed in the background once released.
        }
        let log = try cluster.openLog()
        let description = try await log.describeTopic("dropped")
        #expect(description.partitions.map(\.endOffset).reduce(0, +) == 10)
        try await log.shutdown()
        await cluster.close()
    }
}

@Suite("Delivery tracking")
struct DeliveryTrackerTests {
    @Test("an append resumes with positions in input order once every report arrived, in any order")
    func positionsInInputOrder() async throws {
        let tracker = DeliveryTracker()
        let batch = try tracker.open(count: 3)
        for index in [2, 0, 1] {
            tracker.report(
                opaque: DeliveryTracker.opaque(batch: batch, index: index),
                outcome: .success(.init(partition: Int32(index), offset: Int64(10 + index))))
        }
        let positions = try await tracker.wait(for: batch)
        #expect(positions.map(\.offset) == [10, 11, 12])
    }

    @Test("one failed report fails the append after all reports arrived; stray reports are ignored")
    func failure() async throws {
        let tracker = DeliveryTracker()
        let batch = try tracker.open(count: 2)
        let waiting = Task { try await tracker.wait(for: batch) }
        tracker.report(
            opaque: DeliveryTracker.opaque(batch: batch + 7, index: 0), outcome: .failure(EventLogError(.io, "x")))
        tracker.report(
            opaque: DeliveryTracker.opaque(batch: batch, index: 0),
            outcome: .failure(EventLogError(.timeout, "timed out")))
        tracker.report(
            opaque: DeliveryTracker.opaque(batch: batch, index: 1),
            outcome: .success(.init(partition: 0, offset: 1)))
        let error = await #expect(throws: EventLogError.self) { try await waiting.value }
        #expect(error?.code == .timeout)
    }

    @Test("closing fails waiting appends and refuses new ones")
    func close() async throws {
        let tracker = DeliveryTracker()
        let batch = try tracker.open(count: 1)
        let waiting = Task { try await tracker.wait(for: batch) }
        tracker.close(reason: "shut down")
        let error = await #expect(throws: EventLogError.self) { try await waiting.value }
        #expect(error?.code == .closed)
        #expect(throws: EventLogError.self) { try tracker.open(count: 1) }
    }
}

@Suite("librdkafka statistics")
struct KafkaStatisticsTests {
    @Test("queue depth, totals and per-partition consumer lag are read from the statistics JSON")
    func parse() throws {
        let json = """
            {"name":"tributary#consumer-2","msg_cnt":12,"msg_size":3400,"txmsgs":100,"rxmsgs":250,
             "topics":{"orders":{"partitions":{"0":{"consumer_lag":5},"1":{"consumer_lag":-1},"-1":{"consumer_lag":0}}}}}
            """
        let statistics = try #require(KafkaStatistics(json: Data(json.utf8)))
        #expect(statistics.handleName == "tributary#consumer-2")
        #expect(statistics.queuedMessages == 12)
        #expect(statistics.queuedBytes == 3400)
        #expect(statistics.transmittedMessages == 100)
        #expect(statistics.receivedMessages == 250)
        #expect(statistics.consumerLag == [.init(topic: "orders", partition: 0, lag: 5)])
        #expect(KafkaStatistics(json: Data("not json".utf8)) == nil)
    }
}
