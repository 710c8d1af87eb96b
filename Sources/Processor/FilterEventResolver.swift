import BigInt
import SwiftProtobuf
import TributaryModel

/// Reads paths straight from a canonical event, without converting the event first.
///
/// Decoded integers stay decimal text until a comparison needs them, and an argument is found by a linear
/// scan of `decoded.arguments` by name (events have a handful of arguments).
struct FilterEventResolver: FilterValueResolver {
    let event: Tributary_V1_CanonicalEvent
    /// The decoded form, read once per evaluation when the expression reads `args.…` or `event.…` (copying it
    /// out of the event is the dearest part of reading a decoded field); `nil` otherwise or when undecoded.
    private let decoded: Tributary_V1_DecodedEvent?

    /// Creates a resolver; `readsDecoded` fetches the decoded form once up front.
    init(event: Tributary_V1_CanonicalEvent, readsDecoded: Bool = false) {
        self.event = event
        self.decoded = readsDecoded && event.hasDecoded ? event.decoded : nil
    }

    /// The decoded form, prefetched or read now; `nil` when the event was not decoded.
    private var decodedEvent: Tributary_V1_DecodedEvent? {
        if let decoded { return decoded }
        return event.hasDecoded ? event.decoded : nil
    }

    func value(of path: FilterPathReference) -> FilterRuntimeValue {
        value(of: path.field)
    }

    func value(of field: FilterField) -> FilterRuntimeValue {
        switch field {
        case .id: return .text(event.id)
        case .chain: return .text(event.chainID)
        case .address: return .text(event.address)
        case .data: return .text(event.data)
        case .removed: return .bool(event.removed)
        case .status:
            switch event.status {
            case .unspecified: return .text("unspecified")
            case .pending: return .text("pending")
            case .confirmed: return .text("confirmed")
            case .finalized: return .text("finalized")
            case .UNRECOGNIZED: return .missing
            }
        case .blockNumber: return .unsigned(event.blockNumber)
        case .blockHash: return .text(event.blockHash)
        case .blockParentHash: return .text(event.parentHash)
        case .blockTimestamp: return .unsigned(event.blockTimestamp)
        case .transactionHash: return .text(event.transactionHash)
        case .transactionIndex: return .unsigned(UInt64(event.transactionIndex))
        case .logIndex: return .unsigned(UInt64(event.logIndex))
        case .eventName: return decodedEvent.map { .text($0.name) } ?? .missing
        case .eventSignature: return decodedEvent.map { .text($0.signature) } ?? .missing
        case .eventABI: return decodedEvent.map { .text($0.abi) } ?? .missing
        case .topics: return .list(event.topics.map(FilterRuntimeValue.text))
        case .topic(let index):
            let topics = event.topics
            return index < topics.count ? .text(topics[index]) : .missing
        case .argument(let selector, let rest):
            return argument(selector, rest: rest)
        }
    }

    private func argument(_ selector: FilterPathStep, rest: [FilterPathStep]) -> FilterRuntimeValue {
        guard let arguments = decodedEvent?.arguments else { return .missing }
        var position: Int?
        switch selector {
        case .name(let name):
            for index in arguments.indices where arguments[index].name == name {
                position = index
                break
            }
        case .index(let index):
            position = index < arguments.count ? index : nil
        }
        guard let position, arguments[position].hasValue else { return .missing }
        var value = arguments[position].value
        var type = Substring(arguments[position].type)
        for step in rest {
            switch (step, value.kind) {
            case (.index(let index), .listValue(let list)?):
                guard index < list.values.count else { return .missing }
                value = list.values[index]
                type = Self.elementType(of: type)
            case (.name(let name), .structValue(let fields)?):
                guard let field = fields.fields[name] else { return .missing }
                value = field
                type = ""
            default:
                return .missing
            }
        }
        return Self.runtimeValue(value, type: type)
    }

    /// The runtime form of a decoded JSON value; `type` is its Solidity type, when known.
    static func runtimeValue(_ value: Google_Protobuf_Value, type: Substring) -> FilterRuntimeValue {
        switch value.kind {
        case .stringValue(let text)?:
            return isIntegerType(type) ? .decimal(text) : .text(text)
        case .boolValue(let flag)?:
            return .bool(flag)
        case .numberValue(let number)?:
            guard let integer = BigInt(exactly: number) else { return .missing }
            return .integer(integer)
        case .listValue(let list)?:
            let elementType = elementType(of: type)
            return .list(list.values.map { runtimeValue($0, type: elementType) })
        case .structValue?, .nullValue?, nil:
            return .missing
        }
    }

    /// Whether a Solidity type is `intN` or `uintN` (not an array of them).
    static func isIntegerType(_ type: Substring) -> Bool {
        let check = { (bytes: UnsafeBufferPointer<UInt8>) -> Bool in
            var index = bytes.first == UInt8(ascii: "u") ? 1 : 0
            guard bytes.count >= index + 3, bytes[index] == UInt8(ascii: "i"), bytes[index + 1] == UInt8(ascii: "n"),
                bytes[index + 2] == UInt8(ascii: "t")
            else { return false }
            index += 3
            while index < bytes.count {
                guard FilterBytes.isDigit(bytes[index]) else { return false }
                index += 1
            }
            return true
        }
        return type.utf8.withContiguousStorageIfAvailable(check) ?? Array(type.utf8).withUnsafeBufferPointer(check)
    }

    /// `uint256` for `uint256[]` or `uint256[3]`; empty when the type is not an array.
    static func elementType(of type: Substring) -> Substring {
        guard type.last == "]", let open = type.lastIndex(of: "[") else { return "" }
        return type[..<open]
    }
}

extension Tributary_V1_CanonicalEvent: FilterContext {
    /// The value a filter reads at `path`, or `nil` when the event has none (for example `args.x` on an
    /// event without an argument `x`, or any `args.…` on an undecoded event).
    ///
    /// Decoded integers come back as ``FilterValue/integer(_:)``. An unknown path also yields `nil`.
    public func filterValue(at path: FilterPath) -> FilterValue? {
        guard !path.components.isEmpty,
            let field = try? FilterField(components: path.components, position: 0, source: path.description)
        else { return nil }
        return FilterEventResolver(event: self).value(of: field).publicValue
    }
}
