import EVM
import EventLog
import Foundation
import Processor
import Testing
import TributaryModel
import TributaryTesting

/// The processor role on a real (in-memory) log.
@Suite struct ProcessorServiceTests {
    static func makeRawRecord(block: UInt64, logs: Int, chain: String = "eip155:1") -> Tributary_V1_RawBlockRecord {
        var record = Tributary_V1_RawBlockRecord()
        record.block.chainID = chain
        record.block.number = block
        record.block.hash = "0x" + String(format: "%064x", block)
        record.block.parentHash = "0x" + String(format: "%064x", block - 1)
        record.block.timestamp = 1_700_000_000 + block
        record.status = .pending
        record.logs = (0..<logs).map { index in
            var log = Tributary_V1_RawLog()
            log.address = "0x" + String(repeating: "AB", count: 20)
            log.topics = [transferTopic.uppercased().replacingOccurrences(of: "0X", with: "0x")]
            log.data = "0x" + String(format: "%064x", index)
            log.logIndex = UInt32(index)
            log.transactionHash = "0x" + String(format: "%064x", 1000 + index)
            log.transactionIndex = UInt32(index)
            return log
        }
        return record
    }

    static func rawRecord(_ value: [UInt8]?, contentType: String? = nil) -> OutgoingRecord {
        OutgoingRecord(
            topic: "raw-events", key: Array("eip155:1".utf8), value: value,
            headers: contentType.map { [RecordHeader(name: "content-type", text: $0)] } ?? [])
    }

    static func createTopics(_ log: any EventLog) async throws {
        for topic in StandardTopic.all {
            try await log.createTopic(TopicConfiguration(name: topic.name, partitions: 2, compacted: topic.compacted))
        }
    }

    @Test func garbageIsDeadLetteredWithReasonsAndGoodRecordsFlow() async throws {
        let log = InMemoryEventLog()
        try await Self.createTopics(log)
        var badAddress = Self.makeRawRecord(block: 5, logs: 1)
        badAddress.logs[0].address = "0x1234"
        var duplicateIndex = Self.makeRawRecord(block: 6, logs: 2)
        duplicateIndex.logs[1].logIndex = 0
        var badChain = Self.makeRawRecord(block: 7, logs: 1)
        badChain.block.chainID = "mainnet"
        _ = try await log.append([
            Self.rawRecord(Array("not a record at all \u{1}\u{2}".utf8)),
            Self.rawRecord(Array("{\"block\": 12}".utf8), contentType: "application/json"),
            Self.rawRecord(nil),
            Self.rawRecord(try RecordEncoding.json.encode(badAddress)),
            Self.rawRecord(try RecordEncoding.protobuf.encode(duplicateIndex), contentType: "application/x-protobuf"),
            Self.rawRecord(try RecordEncoding.json.encode(badChain)),
            Self.rawRecord(try RecordEncoding.json.encode(Self.makeRawRecord(block: 8, logs: 3))),
            Self.rawRecord(try RecordEncoding.protobuf.encode(Self.makeRawRecord(block: 9, logs: 2))),
        ])
        let service = ProcessorService(log: log)
        let running = Task { try await service.run() }

        let events = try await log.makeReader(topic: "canonical-events", from: .earliest)
        let canonical = try await EventLogConformance.readRecords(events, count: 5)
        let deadLetters = try await log.makeReader(topic: "raw-events.dlq", from: .earliest)
        let dead = try await EventLogConformance.readRecords(deadLetters, count: 6)
        running.cancel()
        try await running.value
        await events.close()
        await deadLetters.close()

        let decoded = try canonical.map {
            try RecordEncoding.decode(Tributary_V1_CanonicalEvent.self, from: $0.value ?? [], contentType: nil)
        }
        #expect(Set(decoded.map(\.blockNumber)) == [8, 9])
        for (record, event) in zip(canonical, decoded) {
            #expect(record.key == Array(event.id.utf8), "canonical events are keyed by event id")
            #expect(event.id == "eip155:1:\(event.blockHash):\(event.logIndex)")
            #expect(event.address == "0x" + String(repeating: "ab", count: 20), "addresses are lowercased")
            #expect(event.topics == [transferTopic])
        }
        let reasons = dead.map {
            String(decoding: $0.headers.last(named: DeadLetter.reasonHeader) ?? [], as: UTF8.self)
        }
        #expect(reasons.allSatisfy { !$0.isEmpty })
        #expect(reasons.contains { $0.contains("log 0.address") })
        #expect(reasons.contains { $0.contains("logIndex appears twice") })
        #expect(reasons.contains { $0.contains("block.chainId") })
        #expect(reasons.contains { $0.contains("no value") })
        #expect(dead[0].value == Array("not a record at all \u{1}\u{2}".utf8), "the original bytes are kept")
        #expect(dead.allSatisfy { $0.headers.last(named: DeadLetter.sourceHeader) != nil })
        let committed = try await log.committedOffsets(group: "tributary-processor")
        #expect(committed.values.reduce(0, +) == 8, "every input record was committed")
    }

    @Test func statusAndRetractionAreCarriedThrough() throws {
        var record = Self.makeRawRecord(block: 3, logs: 2)
        record.removed = true
        record.status = .confirmed
        let outcome = try Normalizer(decoder: NoLogDecoding()).normalize(record)
        #expect(outcome.events.count == 2)
        #expect(outcome.events.allSatisfy { $0.removed && $0.status == .confirmed })
        #expect(outcome.events.map(\.logIndex) == [0, 1])
    }
}

@Suite struct ProcessorABITests {
    @Test func functionEventABIsFromTheRegistryTopicDecodeLogs() async throws {
        let log = InMemoryEventLog()
        try await ProcessorServiceTests.createTopics(log)
        var function = Tributary_V1_FunctionRecord()
        function.name = "pinger"
        function.version = 1
        function.manifest.eventAbiJson =
            #"[{"type":"event","name":"Ping","inputs":[{"name":"n","type":"uint256","indexed":false}]}]"#
        _ = try await log.append([
            OutgoingRecord(topic: "tributary.functions", key: "pinger", value: try RecordEncoding.json.encode(function))
        ])
        var raw = ProcessorServiceTests.makeRawRecord(block: 12, logs: 1)
        raw.logs[0].topics = [Hex.encode(Keccak256.hash(Array("Ping(uint256)".utf8)))]
        raw.logs[0].data = "0x" + String(format: "%064x", 77)
        _ = try await log.append([ProcessorServiceTests.rawRecord(try RecordEncoding.json.encode(raw))])
        let service = ProcessorService(log: log)
        let running = Task { try await service.run() }
        let reader = try await log.makeReader(topic: "canonical-events", from: .earliest)
        let records = try await EventLogConformance.readRecords(reader, count: 1)
        running.cancel()
        try await running.value
        await reader.close()
        let event = try RecordEncoding.decode(
            Tributary_V1_CanonicalEvent.self, from: records[0].value ?? [], contentType: nil)
        #expect(event.decoded.name == "Ping")
        #expect(event.decoded.abi == "pinger")
        #expect(event.decoded.arguments.first?.value.stringValue == "77")
    }
}
