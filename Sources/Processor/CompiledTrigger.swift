import TributaryModel

/// Which events a trigger's `event` field selects.
public struct EventMatcher: Sendable, Hashable {
    /// topic0 (lowercase hex) the log must have, or `nil` for any.
    public var topic0: String?
    /// The number of topics the log must have (tells ERC-20 from ERC-721 `Transfer`), or `nil`.
    public var topicCount: Int?
    /// The decoded event name the log must have, or `nil`.
    public var name: String?
    /// The ABI the event must have been decoded with (for example `erc20`), or `nil`.
    public var abi: String?

    /// Creates a matcher.
    public init(topic0: String? = nil, topicCount: Int? = nil, name: String? = nil, abi: String? = nil) {
        self.topic0 = topic0
        self.topicCount = topicCount
        self.name = name
        self.abi = abi
    }

    /// Whether `event` has the topic count, name and ABI this matcher asks for (topic0 is
    /// checked by the index).
    func matchesDetails(of event: Tributary_V1_CanonicalEvent) -> Bool {
        if let topicCount, event.topics.count != topicCount { return false }
        if let name, event.decoded.name != name { return false }
        if let abi, event.decoded.abi != abi { return false }
        return true
    }
}

/// Turns a trigger's `event` text (a signature such as `Transfer(address indexed from, …)` or
/// an ABI name such as `erc20.Transfer` / `Transfer`) into a matcher.
public protocol EventSpecificationResolving: Sendable {
    /// The matcher for `specification`.
    ///
    /// - Throws: ``ProcessorError`` `.invalidTrigger` saying what is wrong with it.
    func matcher(for specification: String) throws -> EventMatcher
}

/// A trigger ready for matching: validated, addresses lowercased, filter compiled.
public struct CompiledTrigger: Sendable {
    /// The stored record.
    public let record: Tributary_V1_TriggerRecord
    /// CAIP-2 chains, empty for all.
    public let chains: Set<String>
    /// Lowercase addresses, empty for all.
    public let addresses: Set<String>
    /// Which events.
    public let matcher: EventMatcher
    /// The compiled filter, `nil` when the trigger has none.
    public let filter: FilterExpression?
    /// When matched events are handed to the function.
    public let finality: Finality

    /// A trigger's finality mode.
    public enum Finality: Sendable, Hashable {
        /// At once, retractions included.
        case instant
        /// Once the chain is this many blocks past the event's block (the event's own block counts as one).
        case confirmations(UInt64)
        /// Once the chain's finalized block passes the event.
        case finalized
    }

    /// The trigger id.
    public var id: String { record.id }

    /// Whether the filter reads the event's `status`, so records of one event may match differently.
    var readsStatus: Bool { filter?.referencedPaths.contains { $0.root == "status" } ?? false }

    /// Validates and compiles `record`.
    ///
    /// - Throws: ``ProcessorError`` `.invalidTrigger` naming the field; a malformed filter names the
    ///   position and what was expected.
    public init(_ record: Tributary_V1_TriggerRecord, resolver: any EventSpecificationResolving) throws {
        guard !record.id.isEmpty else { throw ProcessorError(.invalidTrigger, "trigger id is empty") }
        guard !record.functionName.isEmpty else {
            throw ProcessorError(.invalidTrigger, "trigger \(record.id): functionName is empty")
        }
        for chain in record.chains {
            do { try EventIdentity.validateChainID(chain) } catch {
                throw ProcessorError(.invalidTrigger, "trigger \(record.id): chains: \(error)")
            }
        }
        guard record.addresses.count <= 100_000 else {
            throw ProcessorError(
                .invalidTrigger, "trigger \(record.id): \(record.addresses.count) addresses (at most 100,000)")
        }
        var addresses = Set<String>()
        addresses.reserveCapacity(record.addresses.count)
        for address in record.addresses {
            do {
                addresses.insert(try Normalizer.hex(address, bytes: 20, field: "address"))
            } catch {
                throw ProcessorError(.invalidTrigger, "trigger \(record.id): addresses: '\(address)' is not an address")
            }
        }
        self.record = record
        self.chains = Set(record.chains)
        self.addresses = addresses
        self.matcher = record.event.isEmpty ? EventMatcher() : try resolver.matcher(for: record.event)
        if record.filter.trimmingCharacters(in: .whitespaces).isEmpty {
            self.filter = nil
        } else {
            do {
                self.filter = try FilterExpression.compile(record.filter)
            } catch {
                throw ProcessorError(.invalidTrigger, "trigger \(record.id): filter: \(error)")
            }
        }
        switch record.finality.mode {
        case .none, .instant: finality = .instant
        case .confirmations(let count): finality = .confirmations(UInt64(max(1, count)))
        case .finalized: finality = .finalized
        }
    }

    /// Whether `event` passes the parts of this trigger the index does not check: topic count,
    /// decoded name/ABI, and the filter.
    public func accepts(_ event: Tributary_V1_CanonicalEvent) -> Bool {
        guard matcher.matchesDetails(of: event) else { return false }
        return filter?.evaluate(event) ?? true
    }
}
