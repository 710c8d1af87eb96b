import BigInt

/// Strict decoding of the Solidity ABI encoding (head/tail with offsets) and of log topics.
///
/// Malformed input always throws ``EVMError`` naming the value and byte offset; it never traps
/// and never yields a value that a canonical encoder would not have produced:
/// - every word must lie inside the data (``EVMError/Code/dataTooShort``);
/// - offsets must point into the data and past the head they belong to — never back into it
///   (``EVMError/Code/offsetOutOfRange``);
/// - lengths must fit in the remaining data; an array of n elements needs n × (element head
///   size) bytes (``EVMError/Code/lengthOutOfRange``);
/// - padding must be zero: addresses, `uintN`, `bytesN`, and the tail of `bytes`/`string`
///   payloads; `intN` must be sign-extended (``EVMError/Code/invalidPadding``);
/// - `bool` must be 0 or 1 (``EVMError/Code/invalidBool``);
/// - `string` must be valid UTF-8 (``EVMError/Code/invalidUTF8``). Decision: invalid UTF-8 is
///   an error rather than a lossy or alternative representation, so a decoded ``ABIValue/string(_:)``
///   always round-trips to the same bytes; callers that want the raw bytes can decode the same
///   data with `bytes` in place of `string`;
/// - the data must end where the encoding ends (``EVMError/Code/trailingData``);
/// - overlapping offsets may not expand the data more than twice
///   (``EVMError/Code/decodingLimitExceeded``), which bounds time and memory on hostile input.
public enum ABIDecoder {
    /// Decodes a tuple of values encoded with `types` (e.g. the non-indexed parameters of an
    /// event, or a function's return values).
    ///
    /// - Parameters:
    ///   - types: The types in order.
    ///   - data: The encoding.
    /// - Returns: One value per type.
    /// - Throws: ``EVMError`` as described on ``ABIDecoder``, or ``EVMError/Code/invalidType`` for
    ///   an invalid type.
    public static func decode(_ types: [ABIType], from data: [UInt8]) throws -> [ABIValue] {
        for type in types { try type.validate() }
        var reader = ABIDataReader(data)
        return try reader.decodeAll(types) { "value \($0)" }
    }

    /// Decodes an indexed parameter of a non-hashed type (address, bool, integer, `bytesN`)
    /// from its topic.
    ///
    /// For hashed types (``ABIType/isHashedWhenIndexed``) the topic itself is returned as
    /// ``ABIValue/fixedBytes(_:)``.
    /// - Parameters:
    ///   - topic: The 32-byte topic.
    ///   - type: The parameter type.
    /// - Throws: ``EVMError`` with ``EVMError/Code/invalidTopic`` when the topic is not 32 bytes,
    ///   or a padding/bool error as for data words.
    public static func decodeTopic(_ topic: [UInt8], as type: ABIType) throws -> ABIValue {
        try type.validate()
        guard topic.count == 32 else {
            throw EVMError(.invalidTopic, "a topic has 32 bytes, got \(topic.count)")
        }
        if type.isHashedWhenIndexed { return .fixedBytes(topic) }
        return try ABIDataReader.decodeWord(topic[...], as: type, offset: 0)
    }
}

extension EventDefinition {
    /// Decodes a log of this event into its arguments, in parameter order.
    ///
    /// Indexed parameters come from `topics[1...]` (`topics[0...]` for anonymous events):
    /// value types are decoded and checked like data words; `string`, `bytes`, arrays and tuples
    /// are returned as their 32-byte topic with ``DecodedArgument/isHashed`` set. Non-indexed
    /// parameters are decoded from `data` as one ABI-encoded tuple.
    /// - Parameters:
    ///   - topics: The log topics, each 32 bytes.
    ///   - data: The log data.
    /// - Returns: One argument per parameter.
    /// - Throws: ``EVMError``: ``EVMError/Code/topicCountMismatch`` when the topic count differs
    ///   from ``topicCount``, ``EVMError/Code/signatureMismatch`` when topic0 is not ``topic0``,
    ///   ``EVMError/Code/invalidTopic`` for a topic that is not 32 bytes, or any data error listed
    ///   on ``ABIDecoder``; the reason names the parameter and byte offset.
    public func decode(topics: [[UInt8]], data: [UInt8]) throws -> [DecodedArgument] {
        guard topics.count == topicCount else {
            throw EVMError(
                .topicCountMismatch,
                "event \(signature) has \(topicCount) topics, the log has \(topics.count)")
        }
        var topicIndex = 0
        if !isAnonymous {
            guard topics[0] == topic0 else {
                throw EVMError(
                    .signatureMismatch,
                    "topic0 \(Hex.encode(topics[0])) is not keccak256(\"\(signature)\") = \(Hex.encode(topic0))")
            }
            topicIndex = 1
        }
        let dataNames = self.dataNames
        var reader = ABIDataReader(data)
        var dataValues = try reader.decodeAll(dataTypes) { "parameter '\(dataNames[$0])'" }.makeIterator()

        var arguments: [DecodedArgument] = []
        arguments.reserveCapacity(parameters.count)
        for parameter in parameters {
            if parameter.indexed {
                let topic = topics[topicIndex]
                guard topic.count == 32 else {
                    throw EVMError(
                        .invalidTopic,
                        "topic \(topicIndex) (parameter '\(parameter.name)') has \(topic.count) bytes, expected 32")
                }
                let hashed = parameter.type.isHashedWhenIndexed
                let value: ABIValue
                if hashed {
                    value = .fixedBytes(topic)
                } else {
                    do {
                        value = try ABIDataReader.decodeWord(topic[...], as: parameter.type, offset: 0)
                    } catch let error as EVMError {
                        throw error.prefixed("topic \(topicIndex) (parameter '\(parameter.name)')")
                    }
                }
                arguments.append(
                    DecodedArgument(
                        name: parameter.name, type: parameter.type, isIndexed: true, isHashed: hashed, value: value))
                topicIndex += 1
            } else if let value = dataValues.next() {
                arguments.append(
                    DecodedArgument(
                        name: parameter.name, type: parameter.type, isIndexed: false, isHashed: false, value: value))
            }
        }
        return arguments
    }

    /// Decodes a log given as JSON-RPC hex strings; see ``decode(topics:data:)``.
    ///
    /// - Parameters:
    ///   - topics: The `0x`-prefixed topics.
    ///   - data: The `0x`-prefixed data.
    /// - Throws: ``EVMError`` with ``EVMError/Code/invalidHex`` for bad hex, or as
    ///   ``decode(topics:data:)``.
    public func decode(topics: [String], data: String) throws -> [DecodedArgument] {
        try decode(topics: topics.map { try Hex.decode($0) }, data: Hex.decode(data))
    }
}

/// The bounds-checked reader behind ``ABIDecoder``.
struct ABIDataReader {
    let data: [UInt8]
    /// Bytes that may still be read; starts at twice the data size.
    private var budget: Int
    /// The end of the furthest region read so far.
    private(set) var end = 0

    init(_ data: [UInt8]) {
        self.data = data
        self.budget = data.count < Int.max / 4 ? data.count * 2 + 64 : Int.max
    }

    /// Decodes `types` as a top-level tuple at offset 0 and requires the data to end there.
    mutating func decodeAll(_ types: [ABIType], label: (Int) -> String) throws -> [ABIValue] {
        var headSize = 0
        for type in types {
            let (sum, overflow) = headSize.addingReportingOverflow(type.headSize)
            guard !overflow else { throw EVMError(.dataTooShort, "the values' head size overflows", offset: 0) }
            headSize = sum
        }
        let values = try decodeSequence(types, base: 0, headSize: headSize, label: label)
        guard end == data.count else {
            throw EVMError(
                .trailingData,
                "the encoding ends at byte \(end) but the data has \(data.count) bytes", offset: end)
        }
        return values
    }

    private mutating func consume(_ count: Int, at position: Int) throws {
        budget -= count
        guard budget >= 0 else {
            throw EVMError(
                .decodingLimitExceeded,
                "overlapping offsets expand the \(data.count)-byte data beyond twice its size", offset: position)
        }
        end = max(end, position + count)
    }

    private mutating func readWord(at position: Int, _ what: @autoclosure () -> String) throws -> ArraySlice<UInt8> {
        guard position >= 0, position <= data.count - 32 else {
            throw EVMError(
                .dataTooShort,
                "\(what()) needs 32 bytes at offset \(position) but the data has \(data.count) bytes",
                offset: position)
        }
        try consume(32, at: position)
        return data[position..<(position + 32)]
    }

    /// A word as a non-negative `Int`, or `nil` when it does not fit.
    private static func smallInteger(_ word: ArraySlice<UInt8>) -> Int? {
        let start = word.startIndex
        guard word[start..<(start + 24)].allSatisfy({ $0 == 0 }) else { return nil }
        var value: UInt64 = 0
        for byte in word[(start + 24)...] { value = value << 8 | UInt64(byte) }
        return value <= UInt64(Int.max) ? Int(value) : nil
    }

    /// Decodes the elements of a tuple or array whose head starts at `base`.
    private mutating func decodeSequence(
        _ types: some Collection<ABIType>, base: Int, headSize: Int, label: (Int) -> String
    ) throws -> [ABIValue] {
        var values: [ABIValue] = []
        // Every element takes at least one word, so the data bounds the count worth reserving.
        values.reserveCapacity(min(types.count, max(data.count - base, 0) / 32 + 1))
        var head = base
        for (index, type) in types.enumerated() {
            do {
                if type.isDynamic {
                    let word = try readWord(at: head, "the offset")
                    guard let offset = Self.smallInteger(word), offset >= headSize, offset <= data.count - base - 32
                    else {
                        throw EVMError(
                            .offsetOutOfRange,
                            "offset 0x\(Hex.encode(word.drop { $0 == 0 }, prefix: false)) at byte \(head) must lie "
                                + "between the end of its \(headSize)-byte head and the last word of the data "
                                + "(relative to byte \(base))",
                            offset: head)
                    }
                    values.append(try decodeValue(type, at: base + offset))
                } else {
                    values.append(try decodeValue(type, at: head))
                }
            } catch let error as EVMError {
                throw error.prefixed(label(index))
            }
            head += type.headSize
        }
        return values
    }

    private mutating func decodeValue(_ type: ABIType, at position: Int) throws -> ABIValue {
        switch type {
        case .address, .bool, .uint, .int, .fixedBytes:
            let word = try readWord(at: position, "a \(type.canonicalName) value")
            return try Self.decodeWord(word, as: type, offset: position)
        case .bytes, .string:
            let payload = try readPayload(at: position, of: type)
            if case .bytes = type { return .bytes(payload) }
            guard let text = String(validating: payload, as: UTF8.self) else {
                throw EVMError(.invalidUTF8, "string of \(payload.count) bytes is not valid UTF-8", offset: position)
            }
            return .string(text)
        case .array(let element):
            let word = try readWord(at: position, "the array length")
            let elementSize = max(element.headSize, 1)
            let available = data.count - position - 32
            guard let count = Self.smallInteger(word), count <= available / elementSize else {
                throw EVMError(
                    .lengthOutOfRange,
                    "array length 0x\(Hex.encode(word.drop { $0 == 0 }, prefix: false)) of \(elementSize)-byte "
                        + "elements exceeds the \(available) bytes that follow",
                    offset: position)
            }
            return .array(
                try decodeSequence(
                    repeatElement(element, count: count), base: position + 32, headSize: count * elementSize,
                    label: { "element \($0)" }))
        case .fixedArray(let element, let count):
            let (headSize, overflow) = element.headSize.multipliedReportingOverflow(by: count)
            guard !overflow else {
                throw EVMError(.dataTooShort, "\(type.canonicalName) does not fit in the data", offset: position)
            }
            return .array(
                try decodeSequence(
                    repeatElement(element, count: count), base: position, headSize: headSize,
                    label: { "element \($0)" }))
        case .tuple(let components):
            let types = components.map(\.type)
            var headSize = 0
            for member in types {
                let (sum, overflow) = headSize.addingReportingOverflow(member.headSize)
                guard !overflow else {
                    throw EVMError(.dataTooShort, "\(type.canonicalName) does not fit in the data", offset: position)
                }
                headSize = sum
            }
            return .tuple(
                try decodeSequence(
                    types, base: position, headSize: headSize,
                    label: { components[$0].name.isEmpty ? "component \($0)" : "component '\(components[$0].name)'" }
                ))
        }
    }

    private mutating func readPayload(at position: Int, of type: ABIType) throws -> [UInt8] {
        let word = try readWord(at: position, "the \(type.canonicalName) length")
        let available = data.count - position - 32
        guard let length = Self.smallInteger(word), length <= available else {
            throw EVMError(
                .lengthOutOfRange,
                "\(type.canonicalName) length 0x\(Hex.encode(word.drop { $0 == 0 }, prefix: false)) exceeds the "
                    + "\(available) bytes that follow",
                offset: position)
        }
        let start = position + 32
        let padded = (length + 31) / 32 * 32
        guard padded <= available else {
            throw EVMError(
                .dataTooShort,
                "\(type.canonicalName) of \(length) bytes needs \(padded) padded bytes after offset \(start), "
                    + "only \(available) remain",
                offset: start)
        }
        try consume(padded, at: start)
        guard data[(start + length)..<(start + padded)].allSatisfy({ $0 == 0 }) else {
            throw EVMError(
                .invalidPadding, "\(type.canonicalName) of \(length) bytes has non-zero padding",
                offset: start + length)
        }
        return Array(data[start..<(start + length)])
    }

    /// Decodes one word holding a value type, checking padding and sign extension.
    static func decodeWord(_ word: ArraySlice<UInt8>, as type: ABIType, offset: Int) throws -> ABIValue {
        let start = word.startIndex
        switch type {
        case .address:
            guard word[start..<(start + 12)].allSatisfy({ $0 == 0 }) else {
                throw EVMError(
                    .invalidPadding, "address word has non-zero bytes in its 12-byte padding", offset: offset)
            }
            return .address(EthereumAddress(uncheckedBytes: word[(start + 12)...]))
        case .bool:
            guard word[start..<(start + 31)].allSatisfy({ $0 == 0 }), word[start + 31] <= 1 else {
                throw EVMError(.invalidBool, "bool word is neither 0 nor 1", offset: offset)
            }
            return .bool(word[start + 31] == 1)
        case .uint(let bits):
            guard word[start..<(start + 32 - bits / 8)].allSatisfy({ $0 == 0 }) else {
                throw EVMError(.invalidPadding, "uint\(bits) value has non-zero bits above bit \(bits)", offset: offset)
            }
            return .uint(BigUInt(words: limbs(word)))
        case .int(let bits):
            let padding = 32 - bits / 8
            let negative = word[start + padding] & 0x80 != 0
            let fill: UInt8 = negative ? 0xFF : 0x00
            guard word[start..<(start + padding)].allSatisfy({ $0 == fill }) else {
                throw EVMError(.invalidPadding, "int\(bits) value is not sign-extended to 256 bits", offset: offset)
            }
            var limbs = limbs(word)
            guard negative else { return .int(BigInt(BigUInt(words: limbs))) }
            var carry = true
            for index in limbs.indices {
                limbs[index] = ~limbs[index]
                if carry {
                    let (sum, overflow) = limbs[index].addingReportingOverflow(1)
                    limbs[index] = sum
                    carry = overflow
                }
            }
            return .int(BigInt(sign: .minus, magnitude: BigUInt(words: limbs)))
        case .fixedBytes(let count):
            guard word[(start + count)...].allSatisfy({ $0 == 0 }) else {
                throw EVMError(
                    .invalidPadding, "bytes\(count) value has non-zero bytes after byte \(count)", offset: offset)
            }
            return .fixedBytes(Array(word[start..<(start + count)]))
        default:
            throw EVMError(.invalidType, "\(type.canonicalName) is not a one-word value type", offset: offset)
        }
    }

    /// The word as four 64-bit limbs, least significant first.
    private static func limbs(_ word: ArraySlice<UInt8>) -> [UInt] {
        var limbs = [UInt](repeating: 0, count: 4)
        var index = word.startIndex
        for limb in (0..<4).reversed() {
            var value: UInt = 0
            for _ in 0..<8 {
                value = value << 8 | UInt(word[index])
                index += 1
            }
            limbs[limb] = value
        }
        return limbs
    }
}
