import EventLog
import Testing
import TributaryModel

@testable import ChainAdapter

@Suite struct BackfillRangePlannerTests {
    /// Drives the planner against a provider that allows at most `limit` logs per request,
    /// where every block has `logsPerBlock` logs.
    static func drive(
        _ planner: inout BackfillRangePlanner, logsPerBlock: UInt64, limit: UInt64, suggests: Bool
    ) -> [ClosedRange<UInt64>] {
        var finished: [UInt64: BackfillRangePlanner.Completed<Int>] = [:]
        var released: [ClosedRange<UInt64>] = []
        var guardCounter = 0
        while !planner.isFinished && guardCounter < 100_000 {
            guardCounter += 1
            var batch: [ClosedRange<UInt64>] = []
            while let range = planner.nextRange() { batch.append(range) }
            // Answer in reverse to prove results are released in block order anyway.
            for range in batch.reversed() {
                let blocks = range.upperBound - range.lowerBound + 1
                if blocks * logsPerBlock > limit {
                    let fit = max(1, limit / logsPerBlock)
                    planner.failed(
                        range,
                        .tooManyResults(suggested: suggests ? range.lowerBound...(range.lowerBound + fit - 1) : nil))
                } else {
                    planner.succeeded(range)
                    finished[range.lowerBound] = .init(range: range, payload: Int(blocks * logsPerBlock))
                }
            }
            released += planner.release(&finished).map(\.range)
        }
        return released
    }

    @Test(arguments: [true, false])
    func coversEveryBlockOnceInOrderWhileAdapting(suggests: Bool) {
        var planner = BackfillRangePlanner(first: 100, last: 5_099, initialRange: 2_000, maximumInFlight: 3)
        let released = Self.drive(&planner, logsPerBlock: 7, limit: 10_000, suggests: suggests)
        #expect(released.first?.lowerBound == 100)
        #expect(released.last?.upperBound == 5_099)
        for (previous, next) in zip(released, released.dropFirst()) {
            #expect(next.lowerBound == previous.upperBound + 1, "gap or overlap between \(previous) and \(next)")
        }
        #expect(released.allSatisfy { ($0.upperBound - $0.lowerBound + 1) * 7 <= 10_000 })
    }

    @Test func growsAfterSuccessAndHonoursTheRangeCap() {
        var planner = BackfillRangePlanner(
            first: 0, last: 99_999, initialRange: 10, maximumRange: 1_000, maximumInFlight: 1)
        let first = planner.nextRange()!
        planner.succeeded(first)
        #expect(planner.rangeSize == 20)
        let second = planner.nextRange()!
        #expect(second == 10...29)
        planner.failed(second, .rangeTooLarge(limit: 5))
        #expect(planner.rangeSize == 5)
        #expect(planner.nextRange() == 10...14)
    }

    @Test func transientFailuresRetryTheSameRange() {
        var planner = BackfillRangePlanner(first: 0, last: 9, initialRange: 10, maximumInFlight: 1)
        let range = planner.nextRange()!
        planner.failed(range, .transient)
        #expect(planner.nextRange() == range)
    }
}

@Suite struct CanonicalChainWindowTests {
    static func block(_ number: UInt64, _ hash: String, parent: String) -> CanonicalChainWindow.EmittedBlock {
        .init(number: number, hash: hash, parentHash: parent, record: Tributary_V1_RawBlockRecord())
    }

    @Test func extendsDetectsKnownAndForks() {
        var window = CanonicalChainWindow(capacity: 4)
        #expect(window.connection(number: 1, hash: "a1", parentHash: "a0") == .empty)
        for number in 1...6 { window.append(Self.block(UInt64(number), "a\(number)", parent: "a\(number - 1)")) }
        #expect(window.blocks.map(\.number) == [3, 4, 5, 6], "only the last 4 blocks are kept")
        #expect(window.connection(number: 7, hash: "a7", parentHash: "a6") == .extendsTip)
        #expect(window.connection(number: 5, hash: "a5", parentHash: "a4") == .known)
        #expect(window.connection(number: 6, hash: "b6", parentHash: "a5") == .forksAt(ancestor: 5))
        #expect(window.connection(number: 7, hash: "b7", parentHash: "b6") == .needsParent(hash: "b6"))
        #expect(window.connection(number: 3, hash: "b3", parentHash: "b2") == .deeperThanWindow)
        let orphaned = window.truncate(above: 4)
        #expect(orphaned.map(\.number) == [6, 5], "orphaned blocks come newest first")
        #expect(window.tip?.number == 4)
    }
}

@Suite struct FinalityTrackerTests {
    @Test func confirmsAfterNBlocksAndFinalizesWithTheTag() {
        var tracker = FinalityTracker(confirmations: 3)
        for number in UInt64(10)...12 { tracker.emitted(number: number, hash: "h\(number)", status: .pending) }
        #expect(tracker.advance(head: 11, finalized: nil).isEmpty)
        #expect(tracker.advance(head: 12, finalized: nil) == [.init(number: 10, hash: "h10", status: .confirmed)])
        #expect(tracker.advance(head: 12, finalized: nil).isEmpty, "each transition once")
        #expect(
            tracker.advance(head: 13, finalized: 10) == [
                .init(number: 10, hash: "h10", status: .finalized), .init(number: 11, hash: "h11", status: .confirmed),
            ])
        tracker.orphan(above: 11)
        #expect(tracker.advance(head: 20, finalized: 20) == [.init(number: 11, hash: "h11", status: .finalized)])
    }
}

@Suite struct EmittedHistoryTests {
    static func record(
        _ number: UInt64, _ hash: String, _ status: Tributary_V1_FinalityStatus, removed: Bool = false
    ) -> Tributary_V1_RawBlockRecord {
        var record = Tributary_V1_RawBlockRecord()
        record.block.number = number
        record.block.hash = hash
        record.status = status
        record.removed = removed
        return record
    }

    @Test func replayKeepsTheLatestStateOfOpenBlocksAndDropsRetractedOnes() {
        var history = EmittedHistory()
        history.replay([
            Self.record(10, "a10", .pending), Self.record(11, "a11", .pending), Self.record(12, "a12", .pending),
            Self.record(10, "a10", .confirmed), Self.record(10, "a10", .finalized),
            Self.record(12, "a12", .pending, removed: true), Self.record(11, "a11", .pending, removed: true),
            Self.record(11, "b11", .pending), Self.record(11, "b11", .confirmed),
        ])
        #expect(history.newest?.number == 11 && history.newest?.hash == "b11")
        #expect(history.open.keys.sorted() == [11], "finalized and retracted blocks are not open")
        #expect(history.open[11]?.status == .confirmed)
        #expect(history.hashes == [10: "a10", 11: "b11"])
    }

    /// Blocks 1…300 first produced pending by two adapters; each block is finalized 150 blocks
    /// later (its finalized record comes after the pending records of the next 150 blocks).
    @Test(arguments: [5, 50, 2_000] as [Int64])
    func readsBackEveryOpenBlockOfItsOwnSource(chunk: Int64) async throws {
        let log = InMemoryEventLog()
        try await log.createTopic(TopicConfiguration(name: "raw-events"))
        var records: [OutgoingRecord] = []
        func add(_ number: UInt64, _ status: Tributary_V1_FinalityStatus, kind: String) throws {
            for source in ["eip155:1/a", "eip155:1/b"] {
                var record = Self.record(number, "\(source)-\(number)", status)
                record.source = source
                records.append(
                    OutgoingRecord(
                        topic: "raw-events", key: Array("eip155:1".utf8), value: try RecordEncoding.json.encode(record),
                        headers: [RecordHeader(name: EmittedHistory.kindHeader, text: kind)]))
            }
        }
        for number in UInt64(1)...300 {
            try add(number, .pending, kind: "block")
            if number > 150 { try add(number - 150, .finalized, kind: "status") }
        }
        _ = try await log.append(records)
        let history = try await EmittedHistory.read(
            from: log, topic: "raw-events", key: "eip155:1", source: "eip155:1/a", window: 64, chainFinalizes: true,
            chunk: chunk)
        #expect(history.newest?.number == 300 && history.newest?.hash == "eip155:1/a-300")
        #expect(history.open.keys.sorted() == Array(151...300), "every block not finalized yet is open")
        #expect(history.open.values.allSatisfy { $0.source == "eip155:1/a" && $0.status == .pending })
        let unfinalizing = try await EmittedHistory.read(
            from: log, topic: "raw-events", key: "eip155:1", source: "eip155:1/a", window: 64, chainFinalizes: false,
            chunk: chunk)
        #expect(Set(236...300).isSubset(of: unfinalizing.open.keys), "without finality the window bounds it")
    }
}

@Suite struct HeadWatcherTests {
    @Test func aNotificationNamesTheAnnouncedBlock() {
        let hash = "0x" + String(repeating: "Ab", count: 32)
        let notification =
            #"{"jsonrpc":"2.0","method":"eth_subscription","params":{"subscription":"0x1","result":{"number":"0x10","hash":"\#(hash)"}}}"#
        #expect(HeadWatcher.announcement(notification) == .init(number: 16, hash: hash.lowercased()))
        // Anything else is a plain wake-up: the adapter asks the node for the head.
        #expect(HeadWatcher.announcement(#"{"params":{"result":{"number":"0x10","hash":"0x12"}}}"#) == nil)
        #expect(HeadWatcher.announcement(#"{"params":{"result":{"hash":"\#(hash)"}}}"#) == nil)
        #expect(HeadWatcher.announcement(#"{"params":{"result":{"number":"16","hash":"\#(hash)"}}}"#) == nil)
        #expect(HeadWatcher.announcement("not json") == nil)
    }
}
