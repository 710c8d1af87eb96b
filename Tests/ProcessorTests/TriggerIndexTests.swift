import Processor
import Testing
import TributaryModel

@Suite struct TriggerIndexTests {
    @Test func matchesByChainAddressAndTopicWithWildcards() throws {
        let watched = "0x" + String(repeating: "ab", count: 20)
        let index = TriggerIndex([
            try makeTrigger(id: "any"),
            try makeTrigger(id: "mainnet", chains: ["eip155:1"]),
            try makeTrigger(
                id: "address", addresses: [watched.uppercased().replacingOccurrences(of: "0X", with: "0x")]),
            try makeTrigger(id: "other-topic", event: "0x" + String(repeating: "11", count: 32)),
            try makeTrigger(id: "everything", event: ""),
        ])
        let onMainnet = index.matches(makeEvent(block: 1, address: watched)).map(\.id)
        #expect(Set(onMainnet) == ["any", "mainnet", "address", "everything"])
        let elsewhere = index.matches(makeEvent(chain: "eip155:10", block: 1)).map(\.id)
        #expect(Set(elsewhere) == ["any", "everything"])
    }

    @Test func filtersAndNamesAreCheckedAfterTheIndex() throws {
        let index = TriggerIndex([try makeTrigger(id: "named", event: "Transfer")])
        var event = makeEvent(block: 1)
        #expect(index.matches(event).isEmpty)
        event.decoded.name = "Transfer"
        #expect(index.matches(event).map(\.id) == ["named"])
    }

    @Test func manyTriggersAndAddressesStayExact() throws {
        var triggers: [CompiledTrigger] = []
        for trigger in 0..<1000 {
            let addresses = (0..<100).map {
                "0x" + String(format: "%08x", trigger * 100 + $0) + String(repeating: "0", count: 32)
            }
            triggers.append(try makeTrigger(id: "t\(trigger)", addresses: addresses))
        }
        let index = TriggerIndex(triggers)
        #expect(index.entryCount == 100_000)
        let address = "0x" + String(format: "%08x", 42_017) + String(repeating: "0", count: 32)
        #expect(index.matches(makeEvent(block: 1, address: address)).map(\.id) == ["t420"])
        #expect(index.matches(makeEvent(block: 1, address: "0x" + String(repeating: "f", count: 40))).isEmpty)
    }

    @Test func invalidTriggersAreRejectedWithTheField() {
        #expect(throws: ProcessorError.self) { try makeTrigger(id: "bad", addresses: ["0x1234"]) }
        #expect(throws: ProcessorError.self) { try makeTrigger(id: "bad", chains: ["mainnet"]) }
        #expect(throws: ProcessorError.self) { try makeTrigger(id: "bad", function: "") }
    }

    @Test func invocationIdsAreDeterministicAndDistinguishRetractions() {
        let first = InvocationIdentity.invocationID(
            functionName: "f", functionVersion: 1, eventID: "eip155:1:0xab:1", triggerID: "t", retraction: false)
        let again = InvocationIdentity.invocationID(
            functionName: "f", functionVersion: 1, eventID: "eip155:1:0xab:1", triggerID: "t", retraction: false)
        let retraction = InvocationIdentity.invocationID(
            functionName: "f", functionVersion: 1, eventID: "eip155:1:0xab:1", triggerID: "t", retraction: true)
        let otherVersion = InvocationIdentity.invocationID(
            functionName: "f", functionVersion: 2, eventID: "eip155:1:0xab:1", triggerID: "t", retraction: false)
        #expect(first == again)
        #expect(first.count == 64)
        #expect(Set([first, retraction, otherVersion]).count == 3)
    }
}
