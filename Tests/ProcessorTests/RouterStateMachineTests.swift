import Testing
import TributaryModel

@testable import Processor

@Suite struct RouterStateMachineTests {
    var machine = RouterStateMachine()
    var offset: Int64 = 0

    mutating func receive(_ event: Tributary_V1_CanonicalEvent, _ triggers: [CompiledTrigger]) -> [String] {
        offset += 1
        return machine.receive(event, matched: triggers, source: .init(partition: 0, offset: offset)).map {
            "\($0.trigger.id):\($0.event.blockNumber)\($0.event.removed ? ":retract" : "")"
        }
    }

    @Test mutating func instantDeliversFirstSightingAndRetractionOnce() throws {
        let trigger = try makeTrigger(id: "t", finality: .instant(true))
        #expect(receive(makeEvent(block: 10), [trigger]) == ["t:10"])
        #expect(
            receive(makeEvent(block: 10, status: .confirmed), [trigger]) == [], "a status change is not a new sighting")
        #expect(receive(makeEvent(block: 10, status: .finalized), [trigger]) == [])
        #expect(receive(makeEvent(block: 10, removed: true), [trigger]) == ["t:10:retract"])
    }

    @Test mutating func confirmationsHoldUntilTheHeadIsFarEnough() throws {
        let trigger = try makeTrigger(id: "c", finality: .confirmations(3))
        #expect(receive(makeEvent(block: 100), [trigger]) == [])
        #expect(machine.heldLowWatermarks() == [0: 1])
        #expect(receive(makeEvent(block: 101, logIndex: 1), []) == [])
        #expect(receive(makeEvent(block: 102, logIndex: 2), []) == ["c:100"])
        #expect(machine.heldCount == 0)
        #expect(machine.heldLowWatermarks().isEmpty)
    }

    @Test mutating func retractionDropsHeldEvents() throws {
        let confirmations = try makeTrigger(id: "c", finality: .confirmations(2))
        let finalized = try makeTrigger(id: "f", finality: .finalized(true))
        #expect(receive(makeEvent(block: 50), [confirmations, finalized]) == [])
        #expect(receive(makeEvent(block: 50, removed: true), [confirmations, finalized]) == [])
        #expect(machine.heldCount == 0)
        // The new branch's block 50 and 51 arrive: the orphaned event is never delivered.
        #expect(
            receive(makeEvent(block: 50, logIndex: 0, blockHash: "0x" + String(repeating: "b", count: 64)), []) == [])
        #expect(receive(makeEvent(block: 51), []) == [])
    }

    @Test mutating func finalizedWaitsForTheFinalizedRecord() throws {
        let trigger = try makeTrigger(id: "f", finality: .finalized(true))
        #expect(receive(makeEvent(block: 7), [trigger]) == [])
        #expect(receive(makeEvent(block: 7, status: .confirmed), [trigger]) == [])
        #expect(receive(makeEvent(block: 7, status: .finalized), [trigger]) == ["f:7"])
        #expect(receive(makeEvent(block: 7, status: .finalized), [trigger]) == [], "a repeated finalized record")
    }

    @Test mutating func finalizedRecordAlsoReleasesConfirmationHolds() throws {
        let trigger = try makeTrigger(id: "c", finality: .confirmations(64))
        #expect(receive(makeEvent(block: 7), [trigger]) == [])
        #expect(receive(makeEvent(block: 7, status: .finalized), [trigger]) == ["c:7"])
    }
}
