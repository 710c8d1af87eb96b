/// Finds the event definition for a log by its topic0 and topic count, in O(1).
///
/// A log is identified by `(topic0, topics.count)`: the count separates events that share a
/// signature but differ in which parameters are indexed — notably ERC-20 `Transfer` (3 topics,
/// value in data) and ERC-721 `Transfer` (4 topics, indexed tokenId).
///
/// ``builtIn`` holds ``KnownEvents``. Add contract ABIs with ``adding(_:name:)``.
///
/// - Important: Precedence: the most recently added definition for a `(topic0, topic count)`
///   key wins. Since user ABIs are added on top of ``builtIn``, a user ABI overrides a built-in
///   event with the same key, and a later user ABI overrides an earlier one. Within one ABI the
///   last event with a given key wins. Anonymous events have no topic0 and are not registered
///   (decode them with ``EventDefinition/decode(topics:data:)`` directly).
public struct EventRegistry: Sendable {
    /// A registered event and the ABI it came from.
    public struct Entry: Sendable, Hashable {
        /// The event definition.
        public let event: EventDefinition
        /// The ABI name: `erc20`, `erc721`, `erc1155`, `weth`, `uniswap-v2`, `uniswap-v3` for
        /// built-ins, or the name given to ``EventRegistry/adding(_:name:)``.
        public let source: String

        /// Creates an entry.
        /// - Parameters:
        ///   - event: The event definition.
        ///   - source: The ABI name.
        public init(event: EventDefinition, source: String) {
            self.event = event
            self.source = source
        }
    }

    private var entriesByKey: [Key: Entry] = [:]

    /// An empty registry.
    public init() {}

    /// The registry of ``KnownEvents``: ERC-20, ERC-721, ERC-1155, WETH, Uniswap V2 and V3.
    public static let builtIn: EventRegistry = {
        var registry = EventRegistry()
        for (source, event) in KnownEvents.all { registry.add(event, source: source) }
        return registry
    }()

    /// The number of registered `(topic0, topic count)` keys.
    public var count: Int { entriesByKey.count }

    /// All entries, ordered by source then signature (for listings and diagnostics).
    public var entries: [Entry] {
        entriesByKey.values.sorted {
            ($0.source, $0.event.signature, $0.event.topicCount) < ($1.source, $1.event.signature, $1.event.topicCount)
        }
    }

    /// Finds the event for a log.
    ///
    /// - Parameters:
    ///   - topic0: The log's first topic (32 bytes; anything else finds nothing).
    ///   - topicCount: The log's number of topics, including topic0.
    /// - Returns: The entry, or `nil` when no registered event has this key.
    public func lookup(topic0: some Collection<UInt8>, topicCount: Int) -> Entry? {
        guard let key = Key(topic0: topic0, topicCount: topicCount) else { return nil }
        return entriesByKey[key]
    }

    /// Finds the event for a log whose topic0 is `0x` hex; see ``lookup(topic0:topicCount:)``.
    ///
    /// - Parameters:
    ///   - topic0Hex: The first topic as `0x`-prefixed hex; invalid hex finds nothing.
    ///   - topicCount: The log's number of topics, including topic0.
    public func lookup(topic0Hex: String, topicCount: Int) -> Entry? {
        guard let bytes = try? Hex.decode(topic0Hex) else { return nil }
        return lookup(topic0: bytes, topicCount: topicCount)
    }

    /// A registry with the non-anonymous events of `abi` added under `name`.
    ///
    /// The added events take precedence over existing entries with the same key (see the type's
    /// documentation).
    /// - Parameters:
    ///   - abi: The contract ABI.
    ///   - name: The source name recorded on each entry, e.g. `"my-vault"`.
    public func adding(_ abi: ContractABI, name: String) -> EventRegistry {
        var copy = self
        for event in abi.events { copy.add(event, source: name) }
        return copy
    }

    /// A registry with one event added under `source`, taking precedence over an existing entry
    /// with the same key. Anonymous events are ignored.
    /// - Parameters:
    ///   - event: The event definition.
    ///   - source: The source name recorded on the entry.
    public func adding(_ event: EventDefinition, source: String) -> EventRegistry {
        var copy = self
        copy.add(event, source: source)
        return copy
    }

    private mutating func add(_ event: EventDefinition, source: String) {
        guard !event.isAnonymous, let key = Key(topic0: event.topic0, topicCount: event.topicCount) else { return }
        entriesByKey[key] = Entry(event: event, source: source)
    }

    /// topic0 as four 64-bit words plus the topic count: cheap to hash and compare.
    private struct Key: Hashable {
        let word0: UInt64
        let word1: UInt64
        let word2: UInt64
        let word3: UInt64
        let topicCount: Int

        init?(topic0: some Collection<UInt8>, topicCount: Int) {
            guard topic0.count == 32 else { return nil }
            let words: (UInt64, UInt64, UInt64, UInt64)? = topic0.withContiguousStorageIfAvailable { buffer in
                Self.words(UnsafeRawBufferPointer(buffer))
            }
            (word0, word1, word2, word3) = words ?? Array(topic0).withUnsafeBytes { Self.words($0) }
            self.topicCount = topicCount
        }

        /// The 32 bytes at `bytes` as four big-endian words.
        private static func words(_ bytes: UnsafeRawBufferPointer) -> (UInt64, UInt64, UInt64, UInt64) {
            (
                UInt64(bigEndian: bytes.loadUnaligned(fromByteOffset: 0, as: UInt64.self)),
                UInt64(bigEndian: bytes.loadUnaligned(fromByteOffset: 8, as: UInt64.self)),
                UInt64(bigEndian: bytes.loadUnaligned(fromByteOffset: 16, as: UInt64.self)),
                UInt64(bigEndian: bytes.loadUnaligned(fromByteOffset: 24, as: UInt64.self))
            )
        }
    }
}
