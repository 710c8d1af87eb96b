import BigInt
import EVM
import PropertyBased
import Testing

/// Random ABI types (bounded depth) and values of those types.
enum RandomABI {
    static func type(depth: Int, using rng: inout some RandomNumberGenerator) -> ABIType {
        let choice = Int.random(in: 0..<(depth > 0 ? 11 : 8), using: &rng)
        switch choice {
        case 0: return .address
        case 1: return .bool
        case 2: return .uint(bits: 8 * Int.random(in: 1...32, using: &rng))
        case 3: return .int(bits: 8 * Int.random(in: 1...32, using: &rng))
        case 4: return .fixedBytes(Int.random(in: 1...32, using: &rng))
        case 5: return .bytes
        case 6: return .string
        case 7: return Bool.random(using: &rng) ? .uint256 : .int256
        case 8: return .array(type(depth: depth - 1, using: &rng))
        case 9: return .fixedArray(type(depth: depth - 1, using: &rng), count: Int.random(in: 1...3, using: &rng))
        default:
            let count = Int.random(in: 1...3, using: &rng)
            return .tuple((0..<count).map { .init(name: "m\($0)", type: type(depth: depth - 1, using: &rng)) })
        }
    }

    static func bytes(count: Int, using rng: inout some RandomNumberGenerator) -> [UInt8] {
        (0..<count).map { _ in UInt8.random(in: 0...255, using: &rng) }
    }

    static func unsigned(bits: Int, using rng: inout some RandomNumberGenerator) -> BigUInt {
        let max = (BigUInt(1) << bits) - 1
        switch Int.random(in: 0..<6, using: &rng) {
        case 0: return 0
        case 1: return max
        case 2: return BigUInt(UInt64.random(in: 0...1000, using: &rng)) & max
        default:
            let limbs = (0..<4).map { _ in UInt.random(in: 0...UInt.max, using: &rng) }
            return BigUInt(words: limbs) & max
        }
    }

    static func value(of type: ABIType, using rng: inout some RandomNumberGenerator) -> ABIValue {
        switch type {
        case .address:
            // EthereumAddress(bytes:) cannot fail for 20 bytes; fall back to a fixed address otherwise.
            return .address((try? EthereumAddress(bytes: bytes(count: 20, using: &rng)))!)
        case .bool: return .bool(Bool.random(using: &rng))
        case .uint(let bits): return .uint(unsigned(bits: bits, using: &rng))
        case .int(let bits):
            let magnitude = unsigned(bits: bits - 1, using: &rng)
            let negative = Bool.random(using: &rng)
            // Range is [-2^(bits-1), 2^(bits-1)); shift negatives by one to reach the minimum.
            return .int(negative ? -BigInt(magnitude) - 1 : BigInt(magnitude))
        case .fixedBytes(let count): return .fixedBytes(bytes(count: count, using: &rng))
        case .bytes: return .bytes(bytes(count: Int.random(in: 0...70, using: &rng), using: &rng))
        case .string:
            let scalars = (0..<Int.random(in: 0...20, using: &rng)).map { _ -> Character in
                let pool: [Unicode.Scalar] = ["a", "Z", "0", " ", "\"", "\u{0}", "é", "€", "😀", "中"]
                return Character(pool[Int.random(in: 0..<pool.count, using: &rng)])
            }
            return .string(String(scalars))
        case .array(let element):
            return .array((0..<Int.random(in: 0...3, using: &rng)).map { _ in value(of: element, using: &rng) })
        case .fixedArray(let element, let count):
            return .array((0..<count).map { _ in value(of: element, using: &rng) })
        case .tuple(let components):
            return .tuple(components.map { value(of: $0.type, using: &rng) })
        }
    }

    /// Types and matching values.
    struct Case: Sendable, CustomStringConvertible {
        var types: [ABIType]
        var values: [ABIValue]
        var description: String { "types \(types.map(\.canonicalName)) values \(ABIValue.tuple(values).jsonText())" }
    }

    static let cases = Generator<Case, Shrink.None<Case>>(run: { rng in
        let types = (0..<Int.random(in: 1...4, using: &rng)).map { _ in type(depth: 3, using: &rng) }
        return Case(types: types, values: types.map { value(of: $0, using: &rng) })
    })

    /// A random event and the values of one of its logs.
    struct EventCase: Sendable, CustomStringConvertible {
        var event: EventDefinition
        var values: [ABIValue]
        var description: String { "\(event) values \(ABIValue.tuple(values).jsonText())" }
    }

    static let events = Generator<EventCase, Shrink.None<EventCase>>(run: { rng in
        let anonymous = Int.random(in: 0..<4, using: &rng) == 0
        var indexedLeft = anonymous ? 4 : 3
        let parameters = (0..<Int.random(in: 0...5, using: &rng)).map { index -> EventParameter in
            let indexed = indexedLeft > 0 && Bool.random(using: &rng)
            if indexed { indexedLeft -= 1 }
            return EventParameter(name: "p\(index)", type: type(depth: 2, using: &rng), indexed: indexed)
        }
        // Valid by construction (identifier name, ≤ 3/4 indexed, valid types).
        let event = (try? EventDefinition(name: "E", parameters: parameters, anonymous: anonymous))!
        return EventCase(event: event, values: parameters.map { value(of: $0.type, using: &rng) })
    })

    /// Random bytes biased towards ABI-looking words (small numbers, offsets, all-ones).
    static let wordishBytes = Generator<[UInt8], Shrink.None<[UInt8]>>(run: { rng in
        var data: [UInt8] = []
        for _ in 0..<Int.random(in: 0...12, using: &rng) {
            switch Int.random(in: 0..<5, using: &rng) {
            case 0: data += [UInt8](repeating: 0, count: 31) + [UInt8(32 * Int.random(in: 0...7, using: &rng))]
            case 1: data += [UInt8](repeating: 0, count: 31) + [UInt8.random(in: 0...3, using: &rng)]
            case 2: data += [UInt8](repeating: 0xFF, count: 32)
            case 3: data += bytes(count: 32, using: &rng)
            default: data += bytes(count: Int.random(in: 0...40, using: &rng), using: &rng)
            }
        }
        return data
    })
}

@Suite struct ABIPropertyTests {
    @Test func encodeThenDecodeRoundTrips() async {
        await propertyCheck(count: 500, input: RandomABI.cases) { testCase in
            let encoded = try ABIEncoder.encode(testCase.values, as: testCase.types)
            #expect(encoded.count % 32 == 0)
            let decoded = try ABIDecoder.decode(testCase.types, from: encoded)
            #expect(decoded == testCase.values)
        }
    }

    @Test func eventLogsRoundTrip() async {
        await propertyCheck(count: 500, input: RandomABI.events) { testCase in
            let event = testCase.event
            let log = try event.encodeLog(testCase.values)
            #expect(log.topics.count == event.topicCount)
            let arguments = try event.decode(topics: log.topics, data: log.data)
            #expect(arguments.map(\.name) == event.parameters.map(\.name))
            var topicIndex = event.isAnonymous ? 0 : 1
            for (argument, (parameter, value)) in zip(arguments, zip(event.parameters, testCase.values)) {
                if parameter.indexed && parameter.type.isHashedWhenIndexed {
                    #expect(argument.isHashed)
                    #expect(argument.value == .fixedBytes(log.topics[topicIndex]))
                    #expect(argument.value == .fixedBytes(try ABIEncoder.topic(for: value, as: parameter.type)))
                } else {
                    #expect(!argument.isHashed)
                    #expect(argument.value == value)
                }
                if parameter.indexed { topicIndex += 1 }
            }
        }
    }

    /// Decoding arbitrary bytes either yields values or throws `EVMError`; it never traps (a
    /// trap would end the test process) and whatever it yields re-encodes to the same values.
    @Test func randomBytesNeverCrashTheDecoder() async {
        await propertyCheck(count: 2000, input: RandomABI.cases, RandomABI.wordishBytes) { testCase, data in
            Self.decodeOrThrowEVMError(testCase.types, data)
        }
    }

    @Test func truncatedAndMutatedEncodingsNeverCrashTheDecoder() async {
        await propertyCheck(
            count: 1000, input: RandomABI.cases, Gen.int(in: 0...Int.max), Gen.uint8(in: 0...255), Gen.int(in: 0...3)
        ) { testCase, position, byte, mutation in
            let encoded = try ABIEncoder.encode(testCase.values, as: testCase.types)
            var mutated = encoded
            switch mutation {
            case 0:  // truncate
                mutated = Array(encoded.prefix(position % (encoded.count + 1)))
            case 1:  // change one byte
                if !mutated.isEmpty { mutated[position % mutated.count] ^= byte | 1 }
            case 2:  // overwrite one word with a large or small number
                if mutated.count >= 32 {
                    let start = (position % (mutated.count / 32)) * 32
                    let replacement = byte < 128 ? word(UInt64(byte)) : [UInt8](repeating: byte, count: 32)
                    mutated.replaceSubrange(start..<(start + 32), with: replacement)
                }
            default:  // insert a word
                let start = (position % (mutated.count / 32 + 1)) * 32
                mutated.insert(contentsOf: word(UInt64(byte)), at: start)
            }
            Self.decodeOrThrowEVMError(testCase.types, mutated)
            // Also as an event with the same parameters in the data and random-ish topics.
            let parameters = testCase.types.enumerated().map { EventParameter(name: "p\($0.offset)", type: $0.element) }
            let event = try EventDefinition(name: "Fuzz", parameters: parameters)
            var topics = [event.topic0]
            if mutation == 3 { topics.append(word(UInt64(byte))) }
            _ = try? event.decode(topics: topics, data: mutated)
        }
    }

    static func decodeOrThrowEVMError(_ types: [ABIType], _ data: [UInt8]) {
        do {
            let values = try ABIDecoder.decode(types, from: data)
            // A successful decode produced well-typed values: they encode and decode back.
            let reencoded = try ABIEncoder.encode(values, as: types)
            #expect(try ABIDecoder.decode(types, from: reencoded) == values)
        } catch is EVMError {
            // Rejected with a reason: fine.
        } catch {
            Issue.record("unexpected error type: \(error)")
        }
    }
}
