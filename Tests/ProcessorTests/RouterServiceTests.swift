import EventLog
import Foundation
import Processor
import SwiftProtobuf
import Testing
import TributaryModel
import TributaryTesting

/// The router role on a real (in-memory) log: triggers and functions from their registry
/// topics, events in, invocations out.
@Suite struct RouterServiceTests {
    static func registryRecord(
        _ topic: StandardTopic, key: String, _ message: some SwiftProtobuf.Message
    ) throws
        -> OutgoingRecord
    {
        OutgoingRecord(
            topic: topic.name, key: Array(key.utf8), value: try RecordEncoding.json.encode(message),
            headers: [RecordHeader(name: "content-type", text: "application/json")])
    }

    @Test func matchedEventsBecomeInvocationsWithDeterministicIds() async throws {
        let log = InMemoryEventLog()
        try await ProcessorServiceTests.createTopics(log)
        var function = Tributary_V1_FunctionRecord()
        function.name = "alert"
        function.version = 3
        var instant = Tributary_V1_TriggerRecord()
        instant.id = "instant"
        instant.functionName = "alert"
        instant.event = "Transfer(address,address,uint256)"
        instant.finality.instant = true
        var confirmed = instant
        confirmed.id = "confirmed"
        confirmed.finality.confirmations = 3
        var elsewhere = instant
        elsewhere.id = "elsewhere"
        elsewhere.chains = ["eip155:10"]
        _ = try await log.append([
            try Self.registryRecord(.functions, key: "alert", function),
            try Self.registryRecord(.triggers, key: "instant", instant),
            try Self.registryRecord(.triggers, key: "confirmed", confirmed),
            try Self.registryRecord(.triggers, key: "elsewhere", elsewhere),
        ])
        let events = [
            makeEvent(block: 100), makeEvent(block: 101, logIndex: 1), makeEvent(block: 100, removed: true),
        ]
        try await Self.appendCanonical(events, to: log)
        let router = RouterService(log: log)
        let running = Task { try await router.run() }
        let reader = try await log.makeReader(topic: "function-invocations", from: .earliest)
        // instant: block 100, block 101, retraction of 100; confirmations 3: the head (101) is
        // not far enough past either block, so both stay held (or are dropped by the retraction).
        let records = try await EventLogConformance.readRecords(reader, count: 3)
        let extra = try await reader.poll(maxRecords: 10, timeout: .milliseconds(500))
        running.cancel()
        try? await running.value
        await reader.close()
        #expect(extra.isEmpty, "unexpected invocations: \(extra.count)")
        let requests = try records.map {
            try RecordEncoding.decode(Tributary_V1_InvocationRequest.self, from: $0.value ?? [], contentType: nil)
        }
        #expect(
            requests.allSatisfy { $0.triggerID == "instant" && $0.functionName == "alert" && $0.functionVersion == 3 })
        #expect(requests.map(\.event.blockNumber).sorted() == [100, 100, 101])
        let retraction = try #require(requests.first { $0.event.removed })
        let original = try #require(requests.first { !$0.event.removed && $0.event.blockNumber == 100 })
        #expect(retraction.invocationID != original.invocationID)
        #expect(
            original.invocationID
                == InvocationIdentity.invocationID(
                    functionName: "alert", functionVersion: 3, eventID: original.event.id, triggerID: "instant",
                    retraction: false))
        #expect(zip(records, requests).allSatisfy { $0.key == Array($1.event.id.utf8) })
        // The held event (block 101 for the confirmations trigger) keeps the committed offset
        // below it, so a restart sees it again.
        let committed = try await log.committedOffsets(group: "tributary-router")
        let total = committed.values.reduce(0, +)
        #expect(total < 3, "committed past a held event")
    }

    /// A held event released by a later record carries its own event, not the later record's
    /// (the router writes a record's bytes into a request only for that record's own event).
    @Test func aReleasedHeldEventCarriesItsOwnEvent() async throws {
        let log = InMemoryEventLog()
        try await ProcessorServiceTests.createTopics(log)
        var function = Tributary_V1_FunctionRecord()
        function.name = "alert"
        function.version = 1
        var confirmed = Tributary_V1_TriggerRecord()
        confirmed.id = "confirmed"
        confirmed.functionName = "alert"
        confirmed.event = "Transfer(address,address,uint256)"
        confirmed.finality.confirmations = 2
        _ = try await log.append([
            try Self.registryRecord(.functions, key: "alert", function),
            try Self.registryRecord(.triggers, key: "confirmed", confirmed),
        ])
        let events = [makeEvent(block: 100), makeEvent(block: 101, logIndex: 1)]
        try await Self.appendCanonical(events, to: log)
        let running = Task { try await RouterService(log: log).run() }
        let reader = try await log.makeReader(topic: "function-invocations", from: .earliest)
        let records = try await EventLogConformance.readRecords(reader, count: 1)
        running.cancel()
        try? await running.value
        await reader.close()
        let request = try RecordEncoding.decode(
            Tributary_V1_InvocationRequest.self, from: records[0].value ?? [], contentType: nil)
        #expect(request.event == events[0], "released while block 101 was read, it is block 100's event")
    }

    static func appendCanonical(_ events: [Tributary_V1_CanonicalEvent], to log: InMemoryEventLog) async throws {
        _ = try await log.append(
            try events.map {
                OutgoingRecord(
                    topic: "canonical-events", key: Array($0.id.utf8), value: try RecordEncoding.json.encode($0),
                    headers: [RecordHeader(name: "content-type", text: "application/json")])
            })
    }
}
