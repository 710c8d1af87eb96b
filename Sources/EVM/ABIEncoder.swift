import BigInt

/// Canonical Solidity ABI encoding of values, and of event logs (topics and data).
///
/// The output is exactly what `abi.encode` and `emit` produce, so ``ABIDecoder`` accepts it
/// and returns the same values.
public enum ABIEncoder {
    /// Encodes `values` as one tuple (heads, then tails at 32-byte-aligned offsets).
    ///
    /// - Parameters:
    ///   - values: The values in order.
    ///   - types: Their types; the counts must match.
    /// - Returns: The encoding.
    /// - Throws: ``EVMError`` with ``EVMError/Code/valueMismatch`` when a value does not fit its
    ///   type (wrong case, out of range, wrong length), or ``EVMError/Code/invalidType``.
    public static func encode(_ values: [ABIValue], as types: [ABIType]) throws -> [UInt8] {
        for type in types { try type.validate() }
        guard values.count == types.count else {
            throw EVMError(.valueMismatch, "\(values.count) values for \(types.count) types")
        }
        return try encodeTuple(values, types) { "value \($0)" }
    }

    /// Encodes validated `types`; errors are prefixed with `label(index)`.
    static func encodeTuple(_ values: [ABIValue], _ types: [ABIType], label: (Int) -> String) throws -> [UInt8] {
        var out: [UInt8] = []
        try encodeSequence(values, types, into: &out, label: label)
        return out
    }

    /// The 32-byte topic for an indexed parameter: the value's word for value types, or the
    /// keccak-256 of its in-place encoding for `string`, `bytes`, arrays and tuples.
    ///
    /// - Parameters:
    ///   - value: The parameter value.
    ///   - type: The parameter type.
    /// - Throws: ``EVMError`` with ``EVMError/Code/valueMismatch``.
    public static func topic(for value: ABIValue, as type: ABIType) throws -> [UInt8] {
        try type.validate()
        var out: [UInt8] = []
        guard type.isHashedWhenIndexed else {
            try encodeValue(value, type, into: &out)
            return out
        }
        try encodeInPlace(value, type, topLevel: true, into: &out)
        return Keccak256.hash(out)
    }

    private static func mismatch(_ value: ABIValue, _ type: ABIType, _ detail: String = "") -> EVMError {
        EVMError(.valueMismatch, "value \(value.jsonText()) does not fit type \(type.canonicalName)\(detail)")
    }

    private static func encodeSequence(
        _ values: [ABIValue], _ types: [ABIType], into out: inout [UInt8], label: (Int) -> String
    ) throws {
        let start = out.count
        var headSize = 0
        for type in types { headSize += type.headSize }
        out.reserveCapacity(start + headSize)
        var tails: [UInt8] = []
        for (index, (value, type)) in zip(values, types).enumerated() {
            do {
                if type.isDynamic {
                    appendWord(BigUInt(headSize + tails.count), into: &out)
                    try encodeValue(value, type, into: &tails)
                } else {
                    try encodeValue(value, type, into: &out)
                }
            } catch let error as EVMError {
                throw error.prefixed(label(index))
            }
        }
        out += tails
    }

    private static func encodeValue(_ value: ABIValue, _ type: ABIType, into out: inout [UInt8]) throws {
        switch (type, value) {
        case (.address, .address(let address)):
            out += [UInt8](repeating: 0, count: 12) + address.bytes
        case (.bool, .bool(let flag)):
            appendWord(flag ? 1 : 0, into: &out)
        case (.uint(let bits), .uint(let number)):
            guard number < BigUInt(1) << bits else {
                throw mismatch(value, type, " (more than \(bits) bits)")
            }
            appendWord(number, into: &out)
        case (.int(let bits), .int(let number)):
            let limit = BigInt(1) << (bits - 1)
            guard number >= -limit, number < limit else { throw mismatch(value, type, " (out of range)") }
            let twosComplement = number >= 0 ? number.magnitude : (BigUInt(1) << 256) - number.magnitude
            appendWord(twosComplement, into: &out)
        case (.fixedBytes(let count), .fixedBytes(let bytes)):
            guard bytes.count == count else { throw mismatch(value, type, " (\(bytes.count) bytes)") }
            out += bytes + [UInt8](repeating: 0, count: 32 - count)
        case (.bytes, .bytes(let bytes)):
            appendPayload(bytes, into: &out)
        case (.string, .string(let text)):
            appendPayload(Array(text.utf8), into: &out)
        case (.array(let element), .array(let elements)):
            appendWord(BigUInt(elements.count), into: &out)
            try encodeSequence(elements, Array(repeating: element, count: elements.count), into: &out) {
                "element \($0)"
            }
        case (.fixedArray(let element, let count), .array(let elements)):
            guard elements.count == count else { throw mismatch(value, type, " (\(elements.count) elements)") }
            try encodeSequence(elements, Array(repeating: element, count: count), into: &out) { "element \($0)" }
        case (.tuple(let components), .tuple(let members)):
            guard members.count == components.count else {
                throw mismatch(value, type, " (\(members.count) members)")
            }
            try encodeSequence(members, components.map(\.type), into: &out) { "component \($0)" }
        default:
            throw mismatch(value, type)
        }
    }

    /// Solidity's in-place encoding used to hash indexed aggregates: value types as their word,
    /// `bytes`/`string` as raw bytes (zero-padded to 32 bytes inside an aggregate), arrays and
    /// tuples as the concatenation of their members without lengths or offsets.
    private static func encodeInPlace(
        _ value: ABIValue, _ type: ABIType, topLevel: Bool, into out: inout [UInt8]
    ) throws {
        switch (type, value) {
        case (.bytes, .bytes(let bytes)):
            out += bytes
            if !topLevel { out += [UInt8](repeating: 0, count: (32 - bytes.count % 32) % 32) }
        case (.string, .string(let text)):
            let bytes = Array(text.utf8)
            out += bytes
            if !topLevel { out += [UInt8](repeating: 0, count: (32 - bytes.count % 32) % 32) }
        case (.array(let element), .array(let elements)):
            for member in elements { try encodeInPlace(member, element, topLevel: false, into: &out) }
        case (.fixedArray(let element, let count), .array(let elements)):
            guard elements.count == count else { throw mismatch(value, type, " (\(elements.count) elements)") }
            for member in elements { try encodeInPlace(member, element, topLevel: false, into: &out) }
        case (.tuple(let components), .tuple(let members)):
            guard members.count == components.count else {
                throw mismatch(value, type, " (\(members.count) members)")
            }
            for (member, component) in zip(members, components) {
                try encodeInPlace(member, component.type, topLevel: false, into: &out)
            }
        default:
            try encodeValue(value, type, into: &out)
        }
    }

    private static func appendPayload(_ bytes: [UInt8], into out: inout [UInt8]) {
        appendWord(BigUInt(bytes.count), into: &out)
        out += bytes
        out += [UInt8](repeating: 0, count: (32 - bytes.count % 32) % 32)
    }

    /// Appends `number` (< 2^256) as a big-endian 32-byte word.
    private static func appendWord(_ number: BigUInt, into out: inout [UInt8]) {
        var word = [UInt8](repeating: 0, count: 32)
        for (limbIndex, limb) in number.words.prefix(4).enumerated() {
            let limb = UInt64(limb)
            for byte in 0..<8 {
                word[31 - limbIndex * 8 - byte] = UInt8(truncatingIfNeeded: limb >> (UInt64(byte) * 8))
            }
        }
        out += word
    }
}

/// A log's topics and data, as produced by ``EventDefinition/encodeLog(_:)``.
public struct EncodedLog: Sendable, Hashable {
    /// The topics: topic0 (unless anonymous), then one per indexed parameter.
    public var topics: [[UInt8]]
    /// The ABI encoding of the non-indexed parameters.
    public var data: [UInt8]

    /// Creates an encoded log.
    /// - Parameters:
    ///   - topics: The topics.
    ///   - data: The data.
    public init(topics: [[UInt8]], data: [UInt8]) {
        self.topics = topics
        self.data = data
    }
}

extension EventDefinition {
    /// Encodes a log of this event, as `emit` would.
    ///
    /// - Parameter values: One value per parameter, in parameter order. For indexed `string`,
    ///   `bytes`, arrays and tuples pass the value itself; its topic is the keccak-256 of its
    ///   in-place encoding.
    /// - Returns: The topics and data.
    /// - Throws: ``EVMError`` with ``EVMError/Code/valueMismatch`` naming the parameter.
    public func encodeLog(_ values: [ABIValue]) throws -> EncodedLog {
        guard values.count == parameters.count else {
            throw EVMError(.valueMismatch, "event \(signature) takes \(parameters.count) values, got \(values.count)")
        }
        var topics: [[UInt8]] = isAnonymous ? [] : [topic0]
        var dataValues: [ABIValue] = []
        var dataTypes: [ABIType] = []
        var dataNames: [String] = []
        for (parameter, value) in zip(parameters, values) {
            if parameter.indexed {
                do {
                    topics.append(try ABIEncoder.topic(for: value, as: parameter.type))
                } catch let error as EVMError {
                    throw error.prefixed("parameter '\(parameter.name)'")
                }
            } else {
                dataValues.append(value)
                dataTypes.append(parameter.type)
                dataNames.append(parameter.name)
            }
        }
        let data = try ABIEncoder.encodeTuple(dataValues, dataTypes) { "parameter '\(dataNames[$0])'" }
        return EncodedLog(topics: topics, data: data)
    }
}
