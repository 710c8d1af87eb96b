import EVM
import SwiftProtobuf
import TributaryModel

/// Decodes logs with an ``EventRegistry`` (built-in ABIs plus users'), as the processor needs.
public struct EVMLogDecoding: LogDecoding {
    /// The ABIs known.
    public let registry: EventRegistry

    /// Creates a decoder over `registry`.
    public init(registry: EventRegistry) {
        self.registry = registry
    }

    public func decode(address: String, topics: [String], data: String) throws -> Tributary_V1_DecodedEvent? {
        guard let topic0 = topics.first, let entry = registry.lookup(topic0Hex: topic0, topicCount: topics.count) else {
            return nil
        }
        let arguments: [EVM.DecodedArgument]
        do {
            arguments = try entry.event.decode(topics: topics, data: data)
        } catch {
            throw ProcessorError(.invalidRecord, "\(entry.source) \(entry.event.signature): \(error)")
        }
        var decoded = Tributary_V1_DecodedEvent()
        decoded.name = entry.event.name
        decoded.signature = entry.event.signature
        decoded.abi = entry.source
        decoded.arguments = arguments.map { argument in
            var converted = Tributary_V1_DecodedArgument()
            converted.name = argument.name
            converted.type = argument.type.canonicalName
            converted.indexed = argument.isIndexed
            converted.value = Self.protobufValue(argument.value)
            if case .address(let address) = argument.value { converted.checksummed = address.checksummed }
            return converted
        }
        return decoded
    }

    /// An ABI value as a JSON value: integers as exact decimal strings, addresses and bytes as
    /// lowercase hex, arrays and tuples as lists.
    static func protobufValue(_ value: ABIValue) -> Google_Protobuf_Value {
        switch value {
        case .bool(let flag): Google_Protobuf_Value(boolValue: flag)
        case .string(let text): Google_Protobuf_Value(stringValue: text)
        case .array(let values), .tuple(let values):
            Google_Protobuf_Value(listValue: Google_Protobuf_ListValue(values: values.map(protobufValue)))
        case .address, .uint, .int, .fixedBytes, .bytes: Google_Protobuf_Value(stringValue: value.displayString)
        }
    }
}

/// Resolves a trigger's `event` text with an ``EventRegistry``:
/// - a signature (`Transfer(address,address,uint256)`) matches its topic0; written with
///   `indexed` markers it also fixes the topic count (`Transfer(address indexed from, address
///   indexed to, uint256 value)` is ERC-20's, not ERC-721's);
/// - a name (`Transfer`) or an ABI-qualified name (`erc20.Transfer`) matches decoded events of
///   that name, and must exist in the registry.
public struct EVMEventResolver: EventSpecificationResolving {
    /// The ABIs known.
    public let registry: EventRegistry

    /// Creates a resolver over `registry`.
    public init(registry: EventRegistry) {
        self.registry = registry
    }

    public func matcher(for specification: String) throws -> EventMatcher {
        let text = specification.trimmingCharacters(in: .whitespaces)
        if text.contains("(") {
            let event: EventDefinition
            do {
                event = try EventDefinition(parsing: text)
            } catch {
                throw ProcessorError(.invalidTrigger, "event '\(text)': \(error)")
            }
            let fixesTopics = text.split(whereSeparator: { !$0.isLetter && !$0.isNumber }).contains("indexed")
            return EventMatcher(
                topic0: Hex.encode(event.topic0), topicCount: fixesTopics ? event.topicCount : nil)
        }
        let parts = text.split(separator: ".", maxSplits: 1).map(String.init)
        let (abi, name) = parts.count == 2 ? (Optional(parts[0]), parts[1]) : (nil, text)
        let candidates = registry.entries.filter { $0.event.name == name && (abi == nil || $0.source == abi) }
        guard !candidates.isEmpty else {
            let known = Set(registry.entries.map { "\($0.source).\($0.event.name)" }).sorted().joined(separator: ", ")
            throw ProcessorError(
                .invalidTrigger,
                "event '\(text)' is not in the ABI registry; give a signature such as Transfer(address,address,uint256) or one of: \(known)"
            )
        }
        let topics = Set(candidates.map { Hex.encode($0.event.topic0) })
        return EventMatcher(topic0: topics.count == 1 ? topics.first : nil, name: name, abi: abi)
    }
}
