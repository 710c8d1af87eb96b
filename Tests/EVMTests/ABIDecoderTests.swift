import BigInt
import EVM
import Testing

@Suite struct ABIDecoderTests {
    /// Produced by eth-abi 5 (Python):
    /// `encode(['uint256[]','string','(uint8,bytes,int16[2])[]','bytes3'],
    ///         [[1,2],'héllo',[(7,b'\x01\x02',[-1,300]),(255,b'',[0,-32768])],b'abc']).hex()`
    static let ethABIEncoding = hex(
        "0000000000000000000000000000000000000000000000000000000000000080"
            + "00000000000000000000000000000000000000000000000000000000000000e0"
            + "0000000000000000000000000000000000000000000000000000000000000120"
            + "6162630000000000000000000000000000000000000000000000000000000000"
            + "0000000000000000000000000000000000000000000000000000000000000002"
            + "0000000000000000000000000000000000000000000000000000000000000001"
            + "0000000000000000000000000000000000000000000000000000000000000002"
            + "0000000000000000000000000000000000000000000000000000000000000006"
            + "68c3a96c6c6f0000000000000000000000000000000000000000000000000000"
            + "0000000000000000000000000000000000000000000000000000000000000002"
            + "0000000000000000000000000000000000000000000000000000000000000040"
            + "0000000000000000000000000000000000000000000000000000000000000100"
            + "0000000000000000000000000000000000000000000000000000000000000007"
            + "0000000000000000000000000000000000000000000000000000000000000080"
            + "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"
            + "000000000000000000000000000000000000000000000000000000000000012c"
            + "0000000000000000000000000000000000000000000000000000000000000002"
            + "0102000000000000000000000000000000000000000000000000000000000000"
            + "00000000000000000000000000000000000000000000000000000000000000ff"
            + "0000000000000000000000000000000000000000000000000000000000000080"
            + "0000000000000000000000000000000000000000000000000000000000000000"
            + "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff8000"
            + "0000000000000000000000000000000000000000000000000000000000000000")

    static let complexTypes: [ABIType] = [
        .array(.uint256), .string,
        .array(
            .tuple([
                .init(type: .uint(bits: 8)), .init(type: .bytes), .init(type: .fixedArray(.int(bits: 16), count: 2)),
            ])),
        .fixedBytes(3),
    ]

    static let complexValues: [ABIValue] = [
        .array([.uint(1), .uint(2)]),
        .string("héllo"),
        .array([
            .tuple([.uint(7), .bytes([1, 2]), .array([.int(-1), .int(300)])]),
            .tuple([.uint(255), .bytes([]), .array([.int(0), .int(-32768)])]),
        ]),
        .fixedBytes(Array("abc".utf8)),
    ]

    @Test func decodesAnIndependentEncoderOutput() throws {
        #expect(try ABIDecoder.decode(Self.complexTypes, from: Self.ethABIEncoding) == Self.complexValues)
        #expect(try ABIEncoder.encode(Self.complexValues, as: Self.complexTypes) == Self.ethABIEncoding)
    }

    @Test func indexedParametersFromTopics() throws {
        let event = try EventDefinition(
            parsing:
                "Noted(string indexed note, uint256[] indexed ids, (string,uint8) indexed pair, int8 indexed delta) anonymous"
        )
        let values: [ABIValue] = [
            .string("hello"), .array([.uint(1), .uint(2)]), .tuple([.string("ab"), .uint(7)]), .int(-3),
        ]
        let log = try event.encodeLog(values)
        // keccak("hello"); keccak(word(1) ‖ word(2)); keccak("ab" padded to 32 ‖ word(7)) — pycryptodome.
        #expect(Hex.encode(log.topics[0]) == "0x1c8aff950685c2ed4bc3174f3472287b56d9517b9c948127319a09a7a36deac8")
        #expect(Hex.encode(log.topics[1]) == "0xe90b7bceb6e7df5418fb78d8ee546e97c83a08bbccc01a0644d599ccd2a7c2e0")
        #expect(Hex.encode(log.topics[2]) == "0x473a6ca89270e67560b290fff92e12f05a878491a0c49d96f69f8e805c023af9")
        #expect(log.topics[3] == [UInt8](repeating: 0xFF, count: 31) + [0xFD])
        #expect(log.data.isEmpty)
        let arguments = try event.decode(topics: log.topics, data: log.data)
        #expect(arguments.map(\.isHashed) == [true, true, true, false])
        #expect(arguments.map(\.isIndexed) == [true, true, true, true])
        #expect(arguments[0].value == .fixedBytes(log.topics[0]))
        #expect(arguments[3].value == .int(-3))
    }

    @Test func rendersValuesForJSON() throws {
        let event = KnownEvents.uniswapV3Swap
        let values: [ABIValue] = [
            .address(try EthereumAddress("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed")),
            .address(try EthereumAddress("0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359")),
            .int(BigInt("-123456789012345678901234567890", radix: 10)!), .int(42),
            .uint(BigUInt("1461446703485210103287273052203988822378723970341", radix: 10)!), .uint(0), .int(-887272),
        ]
        let log = try event.encodeLog(values)
        let arguments = try event.decode(topics: log.topics.map { Hex.encode($0) }, data: Hex.encode(log.data))
        #expect(arguments.map(\.value) == values)
        #expect(arguments[2].value.displayString == "-123456789012345678901234567890")
        #expect(arguments[0].value.displayString == "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed")
        #expect(
            DecodedArgument.jsonObjectText(Array(arguments.prefix(3)), checksummedAddresses: true)
                == #"{"sender":"0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed","recipient":"0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359","amount0":"-123456789012345678901234567890"}"#
        )
        #expect(
            ABIValue.array([.bool(true), .bytes([0xAB]), .string("a\"\n"), .tuple([.uint(5)])]).jsonText()
                == #"[true,"0xab","a\"\n",["5"]]"#)
    }

    // MARK: - Malformed input

    static let transfer = KnownEvents.erc20Transfer
    static let fromTopic = hex("0000000000000000000000009f73bc871764c879fd9e0f524278373fa7875068")
    static let toTopic = hex("000000000000000000000000f51bc4633f5924465c8c6317169faf3e4312e82f")

    @Test func wrongTopicCountAndTopic0() {
        let event = Self.transfer
        expectEVMError(.topicCountMismatch, reasonContains: "has 3 topics, the log has 4") {
            try event.decode(topics: [event.topic0, Self.fromTopic, Self.toTopic, word(1)], data: word(1))
        }
        expectEVMError(.signatureMismatch) {
            try event.decode(topics: [word(1), Self.fromTopic, Self.toTopic], data: word(1))
        }
        expectEVMError(.invalidTopic, reasonContains: "topic 2 (parameter 'to') has 31 bytes") {
            try event.decode(topics: [event.topic0, Self.fromTopic, Array(Self.toTopic.dropFirst())], data: word(1))
        }
    }

    @Test func dataLengthMustMatch() {
        let event = Self.transfer
        let topics = [event.topic0, Self.fromTopic, Self.toTopic]
        expectEVMError(.dataTooShort, reasonContains: "parameter 'value'") {
            try event.decode(topics: topics, data: Array(word(1).prefix(31)))
        }
        expectEVMError(.trailingData, reasonContains: "ends at byte 32 but the data has 64 bytes") {
            try event.decode(topics: topics, data: word(1) + word(2))
        }
    }

    @Test func addressPaddingInTopicIsRejected() {
        var badFrom = Self.fromTopic
        badFrom[0] = 1
        let error = expectEVMError(.invalidPadding, reasonContains: "topic 1 (parameter 'from')") {
            try Self.transfer.decode(topics: [Self.transfer.topic0, badFrom, Self.toTopic], data: word(1))
        }
        #expect(error?.reason.contains("address") == true)
    }

    @Test func valueTypeStrictness() throws {
        expectEVMError(.invalidBool, reasonContains: "value 0") { try ABIDecoder.decode([.bool], from: word(2)) }
        #expect(try ABIDecoder.decode([.bool], from: word(1)) == [.bool(true)])
        expectEVMError(.invalidPadding, reasonContains: "uint112") {
            try ABIDecoder.decode([.uint(bits: 112)], from: hex("0001" + String(repeating: "00", count: 30)))
        }
        #expect(try ABIDecoder.decode([.uint(bits: 8)], from: word(255)) == [.uint(255)])
        expectEVMError(.invalidPadding, reasonContains: "uint8") {
            try ABIDecoder.decode([.uint(bits: 8)], from: word(256))
        }
        // int8 -1 must be sign-extended with 0xff; a positive 0x80 in the low byte is out of range.
        let minusOne = [UInt8](repeating: 0xFF, count: 32)
        #expect(try ABIDecoder.decode([.int(bits: 8)], from: minusOne) == [.int(-1)])
        expectEVMError(.invalidPadding, reasonContains: "sign-extended") {
            try ABIDecoder.decode([.int(bits: 8)], from: word(0x80))
        }
        expectEVMError(.invalidPadding, reasonContains: "sign-extended") {
            try ABIDecoder.decode([.int(bits: 8)], from: [0x00] + [UInt8](repeating: 0xFF, count: 31))
        }
        #expect(
            try ABIDecoder.decode([.int256], from: [0x80] + [UInt8](repeating: 0, count: 31))
                == [.int(-(BigInt(1) << 255))])
        expectEVMError(.invalidPadding, reasonContains: "bytes2") {
            try ABIDecoder.decode([.fixedBytes(2)], from: hex("aabbcc" + String(repeating: "00", count: 29)))
        }
    }

    @Test func offsetsAndLengths() {
        // Offset pointing past the data.
        let error = expectEVMError(.offsetOutOfRange, reasonContains: "value 0") {
            try ABIDecoder.decode([.string], from: word(0x40) + word(0))
        }
        #expect(error?.offset == 0)
        // Offset pointing back into the head.
        expectEVMError(.offsetOutOfRange) {
            try ABIDecoder.decode([.string, .uint256], from: word(0x20) + word(0) + word(0))
        }
        // A huge offset does not overflow.
        expectEVMError(.offsetOutOfRange) {
            try ABIDecoder.decode([.bytes], from: [UInt8](repeating: 0xFF, count: 32) + word(0))
        }
        // String length beyond the data.
        let long = expectEVMError(.lengthOutOfRange, reasonContains: "exceeds the 32 bytes") {
            try ABIDecoder.decode([.string], from: word(0x20) + word(33) + word(0))
        }
        #expect(long?.offset == 32)
        // Absurd array length, bounded by remaining data.
        expectEVMError(.lengthOutOfRange, reasonContains: "array length") {
            try ABIDecoder.decode([.array(.uint256)], from: word(0x20) + word(UInt64.max) + word(1))
        }
        // Payload padding must be zero.
        expectEVMError(.invalidPadding, reasonContains: "non-zero padding") {
            try ABIDecoder.decode(
                [.bytes], from: word(0x20) + word(1) + hex("01" + String(repeating: "00", count: 30) + "01"))
        }
        // Invalid UTF-8 in a string is an error; the same data decodes as bytes.
        let invalidUTF8 = word(0x20) + word(2) + hex("c328" + String(repeating: "00", count: 30))
        expectEVMError(.invalidUTF8) { try ABIDecoder.decode([.string], from: invalidUTF8) }
        #expect((try? ABIDecoder.decode([.bytes], from: invalidUTF8)) == [.bytes([0xC3, 0x28])])
    }

    @Test func overlappingOffsetsCannotAmplify() {
        // 200 string offsets all pointing at the same 1 KiB string: canonical encoders never
        // share tails, and decoding it would expand 7 KiB of data to 200 KiB.
        let count = 200
        let stringOffset = UInt64(32 * count)
        var data = word(0x20) + word(UInt64(count))
        for _ in 0..<count { data += word(stringOffset) }
        data += word(1024) + [UInt8](repeating: 0x61, count: 1024)
        expectEVMError(.decodingLimitExceeded) { try ABIDecoder.decode([.array(.string)], from: data) }
    }
}
