import EventLog
import Foundation
import Testing
import TributaryModel
import TributaryTesting

@testable import Processor

/// Finality transitions — the same block, or the same event, again with a new status — are not
/// normalized, decoded or matched again, and come out as if they had been.
@Suite struct FinalityTransitionTests {
    static func raw(
        block: UInt64, logs: Int = 3, status: Tributary_V1_FinalityStatus = .pending, removed: Bool = false
    ) -> Tributary_V1_RawBlockRecord {
        var record = ProcessorServiceTests.makeRawRecord(block: block, logs: logs)
        record.status = status
        record.removed = removed
        return record
    }

    static func normalized(_ record: Tributary_V1_RawBlockRecord) throws -> [Tributary_V1_CanonicalEvent] {
        try Normalizer(decoder: NoLogDecoding()).normalize(record).events
    }

    // MARK: The processor's recent blocks

    @Test func aTransitionOfAKeptBlockGetsItsEventsWithTheNewStatus() throws {
        var recent = RecentBlockEvents(capacity: 100)
        let first = Self.raw(block: 7)
        recent.update(after: first, events: try Self.normalized(first))
        #expect(recent.eventCount == 3)

        let confirmed = Self.raw(block: 7, status: .confirmed)
        let kept = try #require(recent.events(for: confirmed, kind: "status"))
        #expect(kept == (try Self.normalized(confirmed)), "the same events as normalizing the record again")
        let retraction = Self.raw(block: 7, status: .confirmed, removed: true)
        #expect(recent.events(for: retraction, kind: "retraction") == (try Self.normalized(retraction)))

        #expect(recent.events(for: confirmed, kind: "block") == nil, "a first production is always normalized")
        #expect(recent.events(for: confirmed, kind: nil) == nil, "so is a record of another producer")
        #expect(recent.events(for: Self.raw(block: 7, logs: 2, status: .confirmed), kind: "status") == nil)
        #expect(recent.events(for: Self.raw(block: 8, status: .confirmed), kind: "status") == nil)
        var otherChain = confirmed
        otherChain.block.chainID = "eip155:10"
        #expect(recent.events(for: otherChain, kind: "status") == nil, "blocks are kept per chain")
    }

    @Test func finalizedAndRetractedBlocksAreForgotten() throws {
        var recent = RecentBlockEvents(capacity: 100)
        for block in [UInt64(1), 2] {
            let record = Self.raw(block: block)
            recent.update(after: record, events: try Self.normalized(record))
        }
        let finalized = Self.raw(block: 1, status: .finalized)
        recent.update(after: finalized, events: try #require(recent.events(for: finalized, kind: "status")))
        let retracted = Self.raw(block: 2, removed: true)
        recent.update(after: retracted, events: try #require(recent.events(for: retracted, kind: "retraction")))
        #expect(recent.eventCount == 0)
        #expect(recent.events(for: finalized, kind: "status") == nil)
        #expect(recent.events(for: Self.raw(block: 2, status: .confirmed), kind: "status") == nil)

        // A long run of blocks that finalize leaves nothing behind.
        for block in UInt64(10)..<UInt64(5_010) {
            let record = Self.raw(block: block, logs: 1)
            recent.update(after: record, events: try Self.normalized(record))
            if block >= 74 {
                let old = Self.raw(block: block - 64, logs: 1, status: .finalized)
                recent.update(after: old, events: try #require(recent.events(for: old, kind: "status")))
            }
        }
        #expect(recent.eventCount == 64)
        #expect(recent.trackedBlocks < 64 * 3 + 16, "the eviction order does not grow with the chain")
    }

    @Test func theOldestBlocksLeaveAtCapacity() throws {
        var recent = RecentBlockEvents(capacity: 10)
        for block in UInt64(1)...5 {
            let record = Self.raw(block: block)
            recent.update(after: record, events: try Self.normalized(record))
        }
        #expect(recent.eventCount == 9)
        #expect(recent.events(for: Self.raw(block: 2, status: .confirmed), kind: "status") == nil)
        #expect(recent.events(for: Self.raw(block: 3, status: .confirmed), kind: "status") != nil)
        let tooLarge = Self.raw(block: 9, logs: 11)
        recent.update(after: tooLarge, events: try Self.normalized(tooLarge))
        #expect(recent.events(for: Self.raw(block: 9, logs: 11, status: .confirmed), kind: "status") == nil)
        #expect(recent.eventCount == 9)
        var none = RecentBlockEvents(capacity: 0)
        none.update(after: Self.raw(block: 1), events: try Self.normalized(Self.raw(block: 1)))
        #expect(none.events(for: Self.raw(block: 1, status: .confirmed), kind: "status") == nil)
    }

    /// The processor role: a block, its transitions and a retraction through a real log; every
    /// canonical record says its event's status in a header.
    @Test func transitionsComeOutAsIfNormalizedAgain() async throws {
        let log = InMemoryEventLog()
        try await ProcessorServiceTests.createTopics(log)
        let records: [(Tributary_V1_RawBlockRecord, String)] = [
            (Self.raw(block: 20), "block"), (Self.raw(block: 21), "block"),
            (Self.raw(block: 20, status: .confirmed), "status"), (Self.raw(block: 21, removed: true), "retraction"),
            (Self.raw(block: 20, status: .finalized), "status"),
        ]
        _ = try await log.append(
            try records.map { record, kind in
                OutgoingRecord(
                    topic: "raw-events", key: Array("eip155:1".utf8), value: try RecordEncoding.json.encode(record),
                    headers: [
                        RecordHeader(name: "content-type", text: "application/json"),
                        RecordHeader(name: TributaryRecordHeader.recordKind, text: kind),
                    ])
            })
        let running = Task { try await ProcessorService(log: log).run() }
        let reader = try await log.makeReader(topic: "canonical-events", from: .earliest)
        let canonical = try await EventLogConformance.readRecords(reader, count: 15)
        running.cancel()
        try await running.value
        await reader.close()

        let expected = try records.flatMap { record, _ in try Self.normalized(record) }
        let produced = try canonical.map {
            try RecordEncoding.decode(Tributary_V1_CanonicalEvent.self, from: $0.value ?? [], contentType: nil)
        }
        // Keyed by event id, the records spread over partitions: compare per event, in order.
        let byID = Dictionary(grouping: produced, by: \.id)
        #expect(
            byID.mapValues { $0.map(\.status) }
                == Dictionary(grouping: expected, by: \.id).mapValues { $0.map(\.status) })
        #expect(byID == Dictionary(grouping: expected, by: \.id))
        for (record, event) in zip(canonical, produced) {
            let header = record.headers.last(named: TributaryRecordHeader.eventStatus).map {
                String(decoding: $0, as: UTF8.self)
            }
            #expect(header == TributaryRecordHeader.eventStatusValue(status: event.status, removed: event.removed))
            // Transitions and the retraction came from the blocks' first normalization.
            let repeated = record.headers.last(named: TributaryRecordHeader.eventRepeat) == Array("true".utf8)
            #expect(repeated == (event.status != .pending || event.removed))
        }
        #expect(Set(canonical.compactMap { $0.headers.last(named: TributaryRecordHeader.eventStatus) }).count == 4)
    }

    // MARK: The router's routed events

    /// A canonical record as the processor writes it: a repeat of the event's previous record
    /// unless `repeated` is false.
    static func record(_ event: Tributary_V1_CanonicalEvent, header: String? = nil, repeated: Bool = true) -> LogRecord
    {
        let status = header ?? TributaryRecordHeader.eventStatusValue(status: event.status, removed: event.removed)
        var headers = [RecordHeader(name: TributaryRecordHeader.eventStatus, text: status)]
        if repeated { headers.append(RecordHeader(name: TributaryRecordHeader.eventRepeat, text: "true")) }
        return LogRecord(
            topic: "canonical-events", partition: 0, offset: 0, key: Array(event.id.utf8), value: nil,
            headers: headers, timestampMilliseconds: 0)
    }

    @Test func laterRecordsOfARoutedEventArePassedOver() throws {
        let index = TriggerIndex([try makeTrigger(id: "t", finality: .instant(true))])
        var routed = RoutedEvents(index: index)
        let event = makeEvent(block: 5)
        #expect(!routed.canSkip(Self.record(event)), "a first sighting is read")
        routed.routed(Self.record(event, repeated: false), remember: true)
        #expect(routed.canSkip(Self.record(event)), "the same record again")
        #expect(routed.canSkip(Self.record(makeEvent(block: 5, status: .confirmed))))
        #expect(routed.canSkip(Self.record(makeEvent(block: 5, status: .finalized))), "every trigger is instant")
        #expect(
            !routed.canSkip(Self.record(makeEvent(block: 5, status: .confirmed), repeated: false)),
            "normalized again, the event may differ (other ABIs)")
        #expect(!routed.canSkip(Self.record(makeEvent(block: 5, removed: true))), "retractions are read")
        #expect(!routed.canSkip(Self.record(makeEvent(block: 5, logIndex: 1, status: .confirmed))))
        #expect(!routed.canSkip(Self.record(event, header: "unrecognized")))
        var headerless = Self.record(event)
        headerless.headers = []
        #expect(!routed.canSkip(headerless), "records of other producers are read")

        routed.routed(Self.record(makeEvent(block: 5, removed: true)), remember: false)
        #expect(!routed.canSkip(Self.record(event)), "after a retraction the block may come back")
    }

    @Test func recordsATriggerWaitsForAreRead() throws {
        let event = makeEvent(block: 5)
        let confirmed = Self.record(makeEvent(block: 5, status: .confirmed))
        let finalized = Self.record(makeEvent(block: 5, status: .finalized))

        var waiting = RoutedEvents(
            index: TriggerIndex([
                try makeTrigger(id: "now", finality: .instant(true)),
                try makeTrigger(id: "final", finality: .finalized(true)),
            ]))
        waiting.routed(Self.record(event), remember: true)
        #expect(waiting.canSkip(confirmed))
        #expect(!waiting.canSkip(finalized), "a finalized record releases held events")

        var statusFilter = RoutedEvents(
            index: TriggerIndex([try makeTrigger(id: "t", filter: "status == \"confirmed\"", finality: .instant(true))])
        )
        statusFilter.routed(Self.record(event), remember: true)
        #expect(!statusFilter.canSkip(confirmed), "the filter may match this record and not the first")
    }

    @Test func aBoundedSetStaysBoundedWhateverComesAndGoes() {
        var set = BoundedSet<Int>(capacity: 100)
        for value in 0..<10_000 {
            set.insert(value % 50)
            set.remove(value % 50)
            set.insert(value)
        }
        #expect(set.orderCount <= 2 * 100 + 16)
        #expect(set.contains(9_999) && !set.contains(9_800))
    }

    /// The router role on a real log, instant triggers: repeats of routed events are passed over,
    /// and the invocations are the ones reading every record gives.
    @Test func theRouterInvokesAsIfItReadEveryRecord() async throws {
        let log = InMemoryEventLog()
        try await ProcessorServiceTests.createTopics(log)
        try await RouterServiceTests.deploy(
            [RouterServiceTests.transferTrigger("instant", .instant(true))], version: 1, to: log)
        // Block 100 is confirmed and finalized; block 101 is retracted, then comes back; block
        // 102's event matches only as normalized again for its confirmation (as after an ABI change).
        let events = [
            makeEvent(block: 100), makeEvent(block: 101, logIndex: 1),
            makeEvent(block: 102, logIndex: 2, topic0: "0x" + String(repeating: "12", count: 32)),
            makeEvent(block: 100, status: .confirmed), makeEvent(block: 101, logIndex: 1, removed: true),
            makeEvent(block: 101, logIndex: 1), makeEvent(block: 102, logIndex: 2, status: .confirmed),
            makeEvent(block: 100, status: .finalized),
        ]
        try await RouterServiceTests.appendCanonical(events, to: log, repeated: [3, 4, 7])
        let records = try await RouterServiceTests.route(log, count: 5)
        let requests = try records.map {
            try RecordEncoding.decode(Tributary_V1_InvocationRequest.self, from: $0.value ?? [], contentType: nil)
        }
        let seen = requests.map { "\($0.event.blockNumber)\($0.event.removed ? ":retract" : "")" }
        #expect(seen.sorted() == ["100", "101", "101", "101:retract", "102"])
        #expect(requests.first { $0.event.blockNumber == 102 }?.event.status == .confirmed)
    }

    /// A held event's later records are read: it is released with the status they bring.
    @Test func aHeldEventIsReleasedWithItsLatestStatus() async throws {
        let log = InMemoryEventLog()
        try await ProcessorServiceTests.createTopics(log)
        try await RouterServiceTests.deploy(
            [RouterServiceTests.transferTrigger("confirmed", .confirmations(2))], version: 1, to: log)
        let events = [
            makeEvent(block: 100), makeEvent(block: 100, status: .confirmed), makeEvent(block: 101, logIndex: 1),
        ]
        try await RouterServiceTests.appendCanonical(events, to: log, repeated: [1])
        let records = try await RouterServiceTests.route(log, count: 1)
        let request = try RecordEncoding.decode(
            Tributary_V1_InvocationRequest.self, from: records[0].value ?? [], contentType: nil)
        #expect(request.event == events[1], "block 100 as its confirmed record has it")
    }
}
