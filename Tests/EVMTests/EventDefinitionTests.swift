import EVM
import Testing

@Suite struct ABITypeTests {
    @Test(arguments: [
        ("uint", "uint256"), ("int", "int256"), ("uint8", "uint8"), ("int24", "int24"), ("bytes1", "bytes1"),
        ("bytes32", "bytes32"), ("bytes", "bytes"), ("string", "string"), ("address", "address"), ("bool", "bool"),
        ("uint256[]", "uint256[]"), ("uint8[2][]", "uint8[2][]"), ("(uint256,address)[3]", "(uint256,address)[3]"),
        ("tuple(uint256 amount, (bytes,bool)[] inner)", "(uint256,(bytes,bool)[])"), ("uint[ 2 ]", "uint256[2]"),
    ])
    func canonicalNames(text: String, canonical: String) throws {
        #expect(try ABIType(parsing: text).canonicalName == canonical)
    }

    @Test func arraySuffixesNestFromTheLeft() throws {
        // uint8[2][] is a dynamic array of uint8[2].
        #expect(try ABIType(parsing: "uint8[2][]") == .array(.fixedArray(.uint(bits: 8), count: 2)))
        #expect(
            try ABIType(parsing: "tuple[3]", components: [.init(name: "a", type: .bool)])
                == .fixedArray(.tuple([.init(name: "a", type: .bool)]), count: 3))
    }

    @Test func dynamicAndHashedClassification() throws {
        #expect(try ABIType(parsing: "uint256[2]").isDynamic == false)
        #expect(try ABIType(parsing: "string[2]").isDynamic == true)
        #expect(try ABIType(parsing: "(uint256,bytes)").isDynamic == true)
        #expect(try ABIType(parsing: "(uint256,bool)").isHashedWhenIndexed == true)
        #expect(ABIType.address.isHashedWhenIndexed == false)
    }

    @Test(arguments: [
        ("uint7", "integer width 7"), ("uint264", "integer width 264"), ("int0", "leading zero"),
        ("bytes33", "bytes33"), ("bytes0", "leading zero"), ("foo", "unknown type 'foo'"), ("uint256[0]", "positive"),
        ("uint256[", "positive"), ("tuple", "needs components"), ("()", "at least one component"),
        ("uint256]", "unexpected text"), ("fixed128x18", "not supported"), ("function", "not supported"),
        ("uint256[1000000000000]", "below 10^9"),
    ])
    func invalidTypes(text: String, fragment: String) {
        expectEVMError(.invalidType, reasonContains: fragment) { try ABIType(parsing: text) }
    }

    @Test func limitsOnSizeAndDepth() {
        expectEVMError(.invalidType, reasonContains: "static size") {
            try ABIType(parsing: "uint256[100000][100000]")
        }
        expectEVMError(.invalidType, reasonContains: "deeper") {
            try ABIType(parsing: "uint256" + String(repeating: "[]", count: 40))
        }
        expectEVMError(.invalidType, reasonContains: "deeper") {
            try ABIType(parsing: String(repeating: "(", count: 40) + "uint256" + String(repeating: ")", count: 40))
        }
    }
}

@Suite struct HumanReadableSignatureTests {
    @Test func namedWithIndexed() throws {
        let event = try EventDefinition(
            parsing: "Transfer(address indexed from, address indexed to, uint256 value)")
        #expect(event.name == "Transfer")
        #expect(event.signature == "Transfer(address,address,uint256)")
        #expect(Hex.encode(event.topic0) == "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef")
        #expect(event.parameters.map(\.name) == ["from", "to", "value"])
        #expect(event.parameters.map(\.indexed) == [true, true, false])
        #expect(event.topicCount == 3)
        #expect(event.humanReadableSignature == "Transfer(address indexed from, address indexed to, uint256 value)")
    }

    @Test func typesOnlyGetPositionalNames() throws {
        let event = try EventDefinition(parsing: "Transfer(address,address,uint256)")
        #expect(event.parameters.map(\.name) == ["arg0", "arg1", "arg2"])
        #expect(event.parameters.allSatisfy { !$0.indexed })
        #expect(event.topicCount == 1)
        let partlyNamed = try EventDefinition(parsing: "Foo(uint256 indexed, bool flag, bytes)")
        #expect(partlyNamed.parameters.map(\.name) == ["arg0", "flag", "arg2"])
        #expect(partlyNamed.parameters.map(\.indexed) == [true, false, false])
    }

    @Test func eventKeywordTuplesAndAnonymous() throws {
        let event = try EventDefinition(
            parsing:
                "event Filled((uint256 a, address b)[] indexed orders, tuple(string,uint8) meta, uint[2] xs) anonymous;"
        )
        #expect(event.isAnonymous)
        #expect(event.signature == "Filled((uint256,address)[],(string,uint8),uint256[2])")
        #expect(event.topicCount == 1)
        #expect(try EventDefinition(parsing: "Ping()").signature == "Ping()")
    }

    @Test func uniswapV2SwapSignature() throws {
        #expect(KnownEvents.uniswapV2Swap.signature == "Swap(address,uint256,uint256,uint256,uint256,address)")
        #expect(
            Hex.encode(KnownEvents.uniswapV2Swap.topic0)
                == "0xd78ad95fa46c994b6551d0da85fc275fe613ce37657fb8d5e3d130840159d822")
    }

    @Test(arguments: [
        ("Transfer(address,address", "expected ')'"), ("(address)", "expected an event name"),
        ("Transfer address", "expected '('"), ("Foo(uint256 a b)", "expected ')'"),
        ("Foo(uint256) payable", "unexpected 'payable'"), ("Foo(uint256,)", "expected a type"),
        ("Foo(uint256 indexed a, uint256 indexed b, uint256 indexed c, uint256 indexed d)", "4 indexed"),
        ("1Foo(uint256)", "not an identifier"), ("Foo(uint256)(", "unexpected text"),
    ])
    func malformedSignatures(text: String, fragment: String) {
        expectEVMError(.invalidSignature, reasonContains: fragment) { try EventDefinition(parsing: text) }
    }

    @Test func invalidTypeInSignatureNamesPosition() {
        let error = expectEVMError(.invalidSignature, reasonContains: "integer width 9") {
            try EventDefinition(parsing: "Foo(uint256 a, uint9 b)")
        }
        #expect(error?.offset == 15)
        // Four indexed parameters are fine for an anonymous event.
        #expect(
            (try? EventDefinition(
                parsing: "Foo(uint8 indexed a, uint8 indexed b, uint8 indexed c, uint8 indexed d) anonymous"))?
                .topicCount == 4)
    }
}

@Suite struct ContractABITests {
    static let pairABI = """
        [
          {"type": "function", "name": "getReserves", "inputs": [], "outputs": [{"name": "", "type": "uint112"}]},
          {"anonymous": false, "type": "event", "name": "Swap", "inputs": [
            {"indexed": true, "name": "sender", "type": "address", "internalType": "address"},
            {"indexed": false, "name": "amount0In", "type": "uint256"},
            {"indexed": false, "name": "amount1In", "type": "uint256"},
            {"indexed": false, "name": "amount0Out", "type": "uint256"},
            {"indexed": false, "name": "amount1Out", "type": "uint256"},
            {"indexed": true, "name": "to", "type": "address"}]},
          {"type": "event", "name": "OrderFilled", "inputs": [
            {"indexed": true, "name": "maker", "type": "address"},
            {"indexed": false, "name": "fills", "type": "tuple[]", "components": [
              {"name": "token", "type": "address"},
              {"name": "amounts", "type": "uint256[2]"},
              {"name": "meta", "type": "tuple", "components": [{"name": "note", "type": "string"}]}]},
            {"indexed": true, "name": "", "type": "tuple[3]", "components": [{"name": "x", "type": "int8"}]}]},
          {"type": "constructor", "inputs": []},
          {"type": "error", "name": "Nope", "inputs": []}
        ]
        """

    @Test func parsesEventsWithTuples() throws {
        let abi = try ContractABI(json: Self.pairABI)
        #expect(abi.events.map(\.name) == ["Swap", "OrderFilled"])
        let swap = try #require(abi.event(named: "Swap"))
        #expect(swap.signature == "Swap(address,uint256,uint256,uint256,uint256,address)")
        #expect(swap == KnownEvents.uniswapV2Swap)
        let filled = try #require(abi.event(named: "OrderFilled"))
        #expect(filled.signature == "OrderFilled(address,(address,uint256[2],(string))[],(int8)[3])")
        #expect(filled.parameters.map(\.name) == ["maker", "fills", "arg2"])
        #expect(filled.topicCount == 3)
        guard case .array(.tuple(let components)) = filled.parameters[1].type else {
            Issue.record("fills should be a tuple array")
            return
        }
        #expect(components.map(\.name) == ["token", "amounts", "meta"])
    }

    @Test func artifactObjectWithAbiKey() throws {
        let abi = try ContractABI(
            json: #"{"contractName": "X", "abi": [{"type": "event", "name": "Ping", "inputs": []}]}"#)
        #expect(abi.events.map(\.signature) == ["Ping()"])
    }

    @Test(arguments: [
        ("[{\"type\": \"event\", \"inputs\": []}]", EVMError.Code.invalidABI, "entry 0: field \"name\" is missing"),
        ("{\"type\": 1}", .invalidABI, "JSON array"),
        ("[1]", .invalidABI, "entry 0 must be an object"),
        ("[{\"type\": \"event\", \"name\": \"A\", \"inputs\": {}}]", .invalidABI, "\"inputs\" must be an array"),
        (
            "[{\"type\": \"function\"}, {\"type\": \"event\", \"name\": \"A\", \"inputs\": [{\"name\": \"x\"}]}]",
            .invalidABI, "entry 1 (event 'A') inputs[0]: field \"type\" is missing"
        ),
        (
            "[{\"type\": \"event\", \"name\": \"A\", \"inputs\": [{\"name\": \"x\", \"type\": \"uint256\", \"indexed\": \"yes\"}]}]",
            .invalidABI, "inputs[0]: field \"indexed\" must be a boolean"
        ),
        (
            "[{\"type\": \"event\", \"name\": \"A\", \"inputs\": [{\"name\": \"x\", \"type\": \"tuple\"}]}]",
            .invalidABI, "needs a \"components\" array"
        ),
        (
            "[{\"type\": \"event\", \"name\": \"A\", \"inputs\": [{\"name\": \"x\", \"type\": \"uint257\"}]}]",
            .invalidType, "entry 0 (event 'A') inputs[0] type \"uint257\""
        ),
        ("[{\"type\": \"event\", \"name\": \"A\", \"inputs\": [", .invalidABI, "not valid JSON"),
    ])
    func malformedJSON(json: String, code: EVMError.Code, fragment: String) {
        expectEVMError(code, reasonContains: fragment) { try ContractABI(json: json) }
    }
}
