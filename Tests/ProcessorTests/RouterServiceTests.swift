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

    /// A trigger of function `alert` on ERC-20 `Transfer`.
    static func transferTrigger(
        _ id: String, _ finality: Tributary_V1_FinalityMode.OneOf_Mode
    )
        -> Tributary_V1_TriggerRecord
    {
        var trigger = Tributary_V1_TriggerRecord()
        trigger.id = id
        trigger.functionName = "alert"
        trigger.event = "Transfer(address,address,uint256)"
        trigger.finality.mode = finality
        return trigger
    }

    /// Deploys function `alert` at `version` and `triggers`.
    static func deploy(
        _ triggers: [Tributary_V1_TriggerRecord], version: UInt32, to log: InMemoryEventLog
    )
        async throws
    {
        var function = Tributary_V1_FunctionRecord()
        function.name = "alert"
        function.version = version
        _ = try await log.append(
            [try registryRecord(.functions, key: "alert", function)]
                + triggers.map { try registryRecord(.triggers, key: $0.id, $0) })
    }

    /// Runs the router until it has produced `count` invocations, and checks that no more follow.
    static func route(_ log: InMemoryEventLog, count: Int) async throws -> [LogRecord] {
        let running = Task { try await RouterService(log: log).run() }
        let reader = try await log.makeReader(topic: "function-invocations", from: .earliest)
        let records = try await EventLogConformance.readRecords(reader, count: count)
        let extra = try await reader.poll(maxRecords: 10, timeout: .milliseconds(500))
        running.cancel()
        try? await running.value
        await reader.close()
        #expect(extra.isEmpty, "unexpected invocations: \(extra.count)")
        return records
    }

    @Test func matchedEventsBecomeInvocationsWithDeterministicIds() async throws {
        let log = InMemoryEventLog()
        try await ProcessorServiceTests.createTopics(log)
        var elsewhere = Self.transferTrigger("elsewhere", .instant(true))
        elsewhere.chains = ["eip155:10"]
        try await Self.deploy(
            [
                Self.transferTrigger("instant", .instant(true)), Self.transferTrigger("confirmed", .confirmations(3)),
                elsewhere,
            ],
            version: 3, to: log)
        let events = [
            makeEvent(block: 100), makeEvent(block: 101, logIndex: 1), makeEvent(block: 100, removed: true),
        ]
        try await Self.appendCanonical(events, to: log)
        // instant: block 100, block 101, retraction of 100; confirmations 3: the head (101) is
        // not far enough past either block, so both stay held (or are dropped by the retraction).
        let records = try await Self.route(log, count: 3)
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
        try await Self.deploy([Self.transferTrigger("confirmed", .confirmations(2))], version: 1, to: log)
        let events = [makeEvent(block: 100), makeEvent(block: 101, logIndex: 1)]
        try await Self.appendCanonical(events, to: log)
        let records = try await Self.route(log, count: 1)
        let request = try RecordEncoding.decode(
            Tributary_V1_InvocationRequest.self, from: records[0].value ?? [], contentType: nil)
        #expect(request.event == events[0], "released while block 101 was read, it is block 100's event")
    }

    /// Appends `events`. With `repeated`, as the processor writes them: each with its status header,
    /// and those at the indexes in `repeated` marked as repeats of the event's previous record;
    /// without it, with no header but the content type (as other producers might).
    static func appendCanonical(
        _ events: [Tributary_V1_CanonicalEvent], to log: InMemoryEventLog, repeated: Set<Int>? = nil
    ) async throws {
        _ = try await log.append(
            try events.enumerated().map { index, event in
                var headers = [RecordHeader(name: "content-type", text: "application/json")]
                if let repeated {
                    let status = TributaryRecordHeader.eventStatusValue(status: event.status, removed: event.removed)
                    headers.append(RecordHeader(name: TributaryRecordHeader.eventStatus, text: status))
                    if repeated.contains(index) {
                        headers.append(RecordHeader(name: TributaryRecordHeader.eventRepeat, text: "true"))
                    }
                }
                return OutgoingRecord(
                    topic: "canonical-events", key: Array(event.id.utf8), value: try RecordEncoding.json.encode(event),
                    headers: headers)
            })
    }
}
