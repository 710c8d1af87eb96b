import Processor
import TributaryModel

/// Test resolver: `0x…` is a topic0, anything else a decoded event name.
struct TestResolver: EventSpecificationResolving {
    func matcher(for specification: String) throws -> EventMatcher {
        specification.hasPrefix("0x") ? EventMatcher(topic0: specification) : EventMatcher(name: specification)
    }
}

let transferTopic = "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef"

func makeEvent(
    chain: String = "eip155:1", block: UInt64, logIndex: UInt32 = 0,
    address: String = "0x" + String(repeating: "aa", count: 20),
    topic0: String = transferTopic, status: Tributary_V1_FinalityStatus = .pending, removed: Bool = false,
    blockHash: String? = nil
) -> Tributary_V1_CanonicalEvent {
    var event = Tributary_V1_CanonicalEvent()
    event.chainID = chain
    event.blockNumber = block
    event.blockHash =
        blockHash ?? "0x"
        + String(String(block, radix: 16).reversed()).padding(toLength: 64, withPad: "0", startingAt: 0)
    event.logIndex = logIndex
    event.address = address
    event.topics = [topic0]
    event.status = status
    event.removed = removed
    event.id = EventIdentity.eventID(chainID: chain, blockHash: event.blockHash, logIndex: logIndex)
    return event
}

func makeTrigger(
    id: String, function: String = "f", chains: [String] = [], addresses: [String] = [], event: String = transferTopic,
    filter: String = "", finality: Tributary_V1_FinalityMode.OneOf_Mode? = nil, version: UInt32 = 1
) throws -> CompiledTrigger {
    var record = Tributary_V1_TriggerRecord()
    record.id = id
    record.functionName = function
    record.functionVersion = version
    record.chains = chains
    record.addresses = addresses
    record.event = event
    record.filter = filter
    record.finality.mode = finality
    return try CompiledTrigger(record, resolver: TestResolver())
}
