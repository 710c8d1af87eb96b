import TributaryModel

/// Finds the triggers an event may match without looking at every trigger: triggers are filed
/// under (chain, address, topic0), each possibly a wildcard, and an event looks up only the
/// wildcard patterns some trigger uses — at most eight dictionary probes whatever the number of
/// triggers or watched addresses.
public struct TriggerIndex: Sendable {
    private struct Key: Hashable {
        var chain: String?
        var address: String?
        var topic0: String?
    }

    /// Bit 0: chain is a wildcard, bit 1: address, bit 2: topic0.
    private var usedPatterns: UInt8 = 0
    private var buckets: [Key: [Int]] = [:]
    /// Every trigger, by position.
    public private(set) var triggers: [CompiledTrigger] = []

    /// Indexes `triggers` (disabled ones are left out).
    public init(_ triggers: [CompiledTrigger]) {
        self.triggers = triggers.filter { !$0.record.disabled }
        for (position, trigger) in self.triggers.enumerated() {
            let chains: [String?] = trigger.chains.isEmpty ? [nil] : trigger.chains.map { $0 }
            let addresses: [String?] = trigger.addresses.isEmpty ? [nil] : trigger.addresses.map { $0 }
            let topic0 = trigger.matcher.topic0
            for chain in chains {
                for address in addresses {
                    buckets[Key(chain: chain, address: address, topic0: topic0), default: []].append(position)
                }
            }
            usedPatterns |= Self.pattern(chain: chains[0] == nil, address: addresses[0] == nil, topic0: topic0 == nil)
        }
    }

    private static func pattern(chain: Bool, address: Bool, topic0: Bool) -> UInt8 {
        UInt8(1) << ((chain ? 1 : 0) | (address ? 2 : 0) | (topic0 ? 4 : 0))
    }

    /// The triggers that match `event`, each once, in index order.
    public func matches(_ event: Tributary_V1_CanonicalEvent) -> [CompiledTrigger] {
        var found: [Int] = []
        let topic0 = event.topics.first
        for wildcards in 0..<8 where usedPatterns & (UInt8(1) << wildcards) != 0 {
            let key = Key(
                chain: wildcards & 1 != 0 ? nil : event.chainID,
                address: wildcards & 2 != 0 ? nil : event.address,
                topic0: wildcards & 4 != 0 ? nil : topic0)
            if key.topic0 == nil && wildcards & 4 == 0 { continue }  // an event without topics has no topic0
            if let positions = buckets[key] { found += positions }
        }
        if found.count > 1 { found = Array(Set(found)).sorted() }
        return found.compactMap { position in
            let trigger = triggers[position]
            return trigger.accepts(event) ? trigger : nil
        }
    }

    /// How many index entries there are (one per chain × address of each trigger).
    public var entryCount: Int { buckets.values.reduce(0) { $0 + $1.count } }
}
