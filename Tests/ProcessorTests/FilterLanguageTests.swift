import BigInt
import Processor
import SwiftProtobuf
import Testing
import TributaryModel

/// Sample events for the filter tests: an ERC-20 transfer, a Uniswap V3 swap and an undecoded log.
enum FilterSamples {
    static let usdc = "0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48"
    static let alice = "0x1111111111111111111111111111111111111111"
    static let bob = "0xab5801a7d398351b8be11c439e05c5b3259aec9b"
    static let zero = "0x0000000000000000000000000000000000000000"
    static let transferTopic = "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef"
    static let uint256Max = "115792089237316195423570985008687907853269984665640564039457584007913129639935"
    static let int256Min = "-57896044618658097711785492504343953926634992332820282019728792003956564819968"

    static func argument(
        _ name: String, _ type: String, _ value: Google_Protobuf_Value, indexed: Bool = false
    )
        -> Tributary_V1_DecodedArgument
    {
        var argument = Tributary_V1_DecodedArgument()
        argument.name = name
        argument.type = type
        argument.indexed = indexed
        argument.value = value
        return argument
    }

    /// A log with every envelope field set and no decoded form.
    static func undecoded(address: String = usdc, topics: [String] = [transferTopic]) -> Tributary_V1_CanonicalEvent {
        var event = Tributary_V1_CanonicalEvent()
        event.id = "eip155:1:0x\(String(repeating: "ab", count: 32)):7"
        event.chainID = "eip155:1"
        event.blockNumber = 19_000_000
        event.blockHash = "0x" + String(repeating: "ab", count: 32)
        event.parentHash = "0x" + String(repeating: "aa", count: 32)
        event.blockTimestamp = 1_700_000_000
        event.transactionHash = "0x" + String(repeating: "cd", count: 32)
        event.transactionIndex = 3
        event.logIndex = 7
        event.address = address
        event.topics = topics
        event.data = "0xa9059cbb" + String(repeating: "0", count: 56)
        event.status = .confirmed
        return event
    }

    /// A decoded event with the given arguments.
    static func decoded(
        name: String, signature: String, abi: String = "erc20", arguments: [Tributary_V1_DecodedArgument],
        address: String = usdc
    ) -> Tributary_V1_CanonicalEvent {
        var event = undecoded(address: address)
        var decoded = Tributary_V1_DecodedEvent()
        decoded.name = name
        decoded.signature = signature
        decoded.abi = abi
        decoded.arguments = arguments
        event.decoded = decoded
        return event
    }

    /// An ERC-20 `Transfer(address,address,uint256)`.
    static func transfer(from: String = alice, to: String = bob, value: String = "1000") -> Tributary_V1_CanonicalEvent
    {
        var event = decoded(
            name: "Transfer", signature: "Transfer(address,address,uint256)",
            arguments: [
                argument("from", "address", Google_Protobuf_Value(stringValue: from), indexed: true),
                argument("to", "address", Google_Protobuf_Value(stringValue: to), indexed: true),
                argument("value", "uint256", Google_Protobuf_Value(stringValue: value)),
            ])
        event.topics = [transferTopic, "0x" + String(repeating: "0", count: 24) + from.dropFirst(2)]
        return event
    }

    /// A Uniswap V3 `Swap` with signed amounts.
    static func swap(amount0: String, amount1: String) -> Tributary_V1_CanonicalEvent {
        decoded(
            name: "Swap", signature: "Swap(address,address,int256,int256,uint160,uint128,int24)",
            abi: "uniswap-v3-pool",
            arguments: [
                argument("sender", "address", Google_Protobuf_Value(stringValue: alice), indexed: true),
                argument("recipient", "address", Google_Protobuf_Value(stringValue: bob), indexed: true),
                argument("amount0", "int256", Google_Protobuf_Value(stringValue: amount0)),
                argument("amount1", "int256", Google_Protobuf_Value(stringValue: amount1)),
                argument(
                    "sqrtPriceX96", "uint160", Google_Protobuf_Value(stringValue: "79228162514264337593543950336")),
                argument("liquidity", "uint128", Google_Protobuf_Value(stringValue: "18446744073709551616")),
                argument("tick", "int24", Google_Protobuf_Value(stringValue: "-887272")),
            ])
    }

    /// An event with list, tuple, bool, string and bytes arguments.
    static func assorted() -> Tributary_V1_CanonicalEvent {
        let ids = Google_Protobuf_ListValue(
            values: ["5", "7", uint256Max].map { Google_Protobuf_Value(stringValue: $0) })
        let order = Google_Protobuf_ListValue(values: [
            Google_Protobuf_Value(stringValue: bob), Google_Protobuf_Value(stringValue: "12"),
        ])
        return decoded(
            name: "Assorted", signature: "Assorted(uint256[],(address,uint256),bool,string,bytes)", abi: "test",
            arguments: [
                argument("ids", "uint256[]", Google_Protobuf_Value(listValue: ids)),
                argument("order", "tuple", Google_Protobuf_Value(listValue: order)),
                argument("flag", "bool", Google_Protobuf_Value(boolValue: true)),
                argument("memo", "string", Google_Protobuf_Value(stringValue: "it's \"quoted\"\nHello")),
                argument("payload", "bytes", Google_Protobuf_Value(stringValue: "0xa9059cbb00ff")),
                argument("nothing", "string", Google_Protobuf_Value(nilLiteral: ())),
                argument("small", "uint8", Google_Protobuf_Value(numberValue: 42)),
            ])
    }
}

/// One row of the evaluation table.
struct FilterCase: Sendable, CustomTestStringConvertible {
    let expression: String
    let event: Tributary_V1_CanonicalEvent
    let expected: Bool

    init(_ expression: String, _ event: Tributary_V1_CanonicalEvent, _ expected: Bool) {
        self.expression = expression
        self.event = event
        self.expected = expected
    }

    var testDescription: String { "\(expression) → \(expected)" }
}

@Suite("Filter language: evaluation")
struct FilterLanguageTests {
    static let transfer = FilterSamples.transfer()
    static let maxTransfer = FilterSamples.transfer(value: FilterSamples.uint256Max)
    static let bigTransfer = FilterSamples.transfer(value: "1000000000000000000001")
    static let swap = FilterSamples.swap(amount0: "-5", amount1: FilterSamples.int256Min)
    static let assorted = FilterSamples.assorted()
    static let undecoded = FilterSamples.undecoded()

    static let cases: [FilterCase] = [
        // Exact 256-bit comparisons.
        FilterCase("args.value > 1000000000000000000000", bigTransfer, true),
        FilterCase("args.value >= 1000000000000000000001", bigTransfer, true),
        FilterCase("args.value > 1000000000000000000001", bigTransfer, false),
        FilterCase("args.value == 1000000000000000000001", bigTransfer, true),
        FilterCase("args.value < 1_000_000_000_000_000_000_002", bigTransfer, true),
        FilterCase("args.value > 1000e18", bigTransfer, true),
        FilterCase("args.value == 1.000000000000000000001e21", bigTransfer, true),
        FilterCase("args.value == \(FilterSamples.uint256Max)", maxTransfer, true),
        FilterCase(
            "args.value > 115792089237316195423570985008687907853269984665640564039457584007913129639934", maxTransfer,
            true),
        FilterCase("args.value < \(FilterSamples.uint256Max)", maxTransfer, false),
        FilterCase("args.value <= \(FilterSamples.uint256Max)", maxTransfer, true),
        FilterCase("args.value > 18446744073709551615", maxTransfer, true),
        FilterCase("args.liquidity == 18446744073709551616", swap, true),
        FilterCase("args.liquidity > 18446744073709551615", swap, true),
        FilterCase("args.liquidity < 18446744073709551617", swap, true),
        FilterCase("args.value == 1000", transfer, true),
        FilterCase("args.value == 0001000", transfer, true),
        FilterCase("args.value != 1000", transfer, false),
        FilterCase("args.value == 1e3", transfer, true),
        FilterCase("args.value == \"1000\"", transfer, true),
        FilterCase("args.value == 0x3e8", transfer, true),
        FilterCase("args.value > 999 and args.value < 1001", transfer, true),
        FilterCase("args.value > -1", transfer, true),
        // Negative int256.
        FilterCase("args.amount0 < 0", swap, true),
        FilterCase("args.amount0 == -5", swap, true),
        FilterCase("args.amount0 > -6", swap, true),
        FilterCase("args.amount0 < -4", swap, true),
        FilterCase("args.amount0 > -5", swap, false),
        FilterCase("args.amount1 == \(FilterSamples.int256Min)", swap, true),
        FilterCase(
            "args.amount1 < -57896044618658097711785492504343953926634992332820282019728792003956564819967", swap, true),
        FilterCase("args.amount1 < \(FilterSamples.uint256Max)", swap, true),
        FilterCase("args.tick == -887272", swap, true),
        FilterCase("args.amount0 < 0 or args.amount1 < 0", swap, true),
        // Envelope numbers.
        FilterCase("block.number == 19000000", transfer, true),
        FilterCase("block.number >= 19_000_000 and block.number < 19000001", transfer, true),
        FilterCase("block.number > 18446744073709551615", transfer, false),
        FilterCase("block.number > -1", transfer, true),
        FilterCase("block.timestamp >= 1700000000", transfer, true),
        FilterCase("tx.index == 3", transfer, true),
        FilterCase("log.index < 8", transfer, true),
        FilterCase("log.index in [1, 7, 9]", transfer, true),
        // Addresses, case-insensitive.
        FilterCase("args.to == 0xAB5801A7D398351B8BE11C439E05C5B3259AEC9B", transfer, true),
        FilterCase("args.to == 0xAb5801a7D398351b8bE11C439e05C5B3259aeC9B", transfer, true),
        FilterCase("args.to == '0xAb5801a7D398351b8bE11C439e05C5B3259aeC9B'", transfer, true),
        FilterCase("args.to == \"\(FilterSamples.bob)\"", transfer, true),
        FilterCase("args.to == 0xAb5801a7D398351b8bE11C439e05C5B3259aeC9C", transfer, false),
        FilterCase("address == 0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48", transfer, true),
        FilterCase("args.from != 0x0000000000000000000000000000000000000000", transfer, true),
        FilterCase("args.from == \(FilterSamples.zero)", FilterSamples.transfer(from: FilterSamples.zero), true),
        FilterCase(
            "args.to in [0x1111111111111111111111111111111111111112, 0xAB5801A7D398351B8BE11C439E05C5B3259AEC9B]",
            transfer, true),
        FilterCase("args.to in [0x1111111111111111111111111111111111111112]", transfer, false),
        FilterCase("args.to in []", transfer, false),
        FilterCase("not args.to in [\(FilterSamples.alice)]", transfer, true),
        FilterCase("args.from == args.to", FilterSamples.transfer(from: FilterSamples.bob), true),
        FilterCase("args.from == args.to", transfer, false),
        // Strings.
        FilterCase("event.name == \"Transfer\"", transfer, true),
        FilterCase("event.name == 'Transfer'", transfer, true),
        FilterCase("event.name == \"transfer\"", transfer, false),
        FilterCase("event.name != \"Approval\"", transfer, true),
        FilterCase("event.name in [\"Approval\", \"Transfer\"]", transfer, true),
        FilterCase("event.signature starts_with \"Transfer(\"", transfer, true),
        FilterCase("event.signature ends_with \"uint256)\"", transfer, true),
        FilterCase("event.name contains \"ansf\"", transfer, true),
        FilterCase("event.name contains \"ANSF\"", transfer, false),
        FilterCase("event.abi == \"erc20\"", transfer, true),
        FilterCase("args.memo == 'it\\'s \"quoted\"\\nHello'", assorted, true),
        FilterCase("args.memo == \"it's \\\"quoted\\\"\\nHello\"", assorted, true),
        FilterCase("args.memo contains \"quoted\"", assorted, true),
        FilterCase("args.memo starts_with \"it's\"", assorted, true),
        FilterCase("args.payload starts_with 0xA9059CBB", assorted, true),
        FilterCase("args.payload starts_with \"0xA9059CBB\"", assorted, true),
        FilterCase("args.payload ends_with \"00FF\"", assorted, true),
        FilterCase("args.payload contains \"59CB\"", assorted, true),
        FilterCase("data starts_with 0xa9059cbb", transfer, true),
        FilterCase("chain == \"eip155:1\"", transfer, true),
        FilterCase("status == \"confirmed\"", transfer, true),
        FilterCase("status in [\"pending\", \"finalized\"]", transfer, false),
        FilterCase("tx.hash starts_with 0xCDCD", transfer, true),
        FilterCase("block.hash == 0x\(String(repeating: "AB", count: 32))", transfer, true),
        FilterCase("block.parent_hash ends_with \"aaaa\"", transfer, true),
        FilterCase("id ends_with \":7\"", transfer, true),
        FilterCase("args.value starts_with \"10\"", transfer, true),
        // Topics.
        FilterCase("topics.0 == 0xDDF252AD1BE2C89B69C2B068FC378DAA952BA7F163C4A11628F55A4DF523B3EF", undecoded, true),
        FilterCase("topics contains \(FilterSamples.transferTopic)", undecoded, true),
        FilterCase("topics.1 == 0x00", undecoded, false),
        FilterCase("topics.1 ends_with \"1111\"", transfer, true),
        // Booleans.
        FilterCase("removed", transfer, false),
        FilterCase("not removed", transfer, true),
        FilterCase("removed == false", transfer, true),
        FilterCase("!removed && args.value == 1000", transfer, true),
        FilterCase("args.flag", assorted, true),
        FilterCase("args.flag == true", assorted, true),
        FilterCase("not args.flag", assorted, false),
        FilterCase("true", transfer, true),
        FilterCase("false or true", transfer, true),
        // Lists and tuples.
        FilterCase("args.ids contains 7", assorted, true),
        FilterCase("args.ids contains \"7\"", assorted, true),
        FilterCase("args.ids contains 8", assorted, false),
        FilterCase("args.ids contains \(FilterSamples.uint256Max)", assorted, true),
        FilterCase("args.ids.1 == 7", assorted, true),
        FilterCase("args.ids.2 > 18446744073709551616", assorted, true),
        FilterCase("args.ids.9 == 7", assorted, false),
        FilterCase("args.order.0 == \(FilterSamples.bob)", assorted, true),
        FilterCase("args.order.1 == 12", assorted, true),
        FilterCase("args.order.1 > 11", assorted, true),
        FilterCase("args.order.x == 12", assorted, false),
        FilterCase("args.0 == \(FilterSamples.alice)", transfer, true),
        FilterCase("args.2 == 1000", transfer, true),
        FilterCase("args.3 == 1000", transfer, false),
        FilterCase("args.small == 42", assorted, true),
        // Precedence and parentheses: not > and > or.
        FilterCase("args.value == 1000 or args.value == 1 and args.value == 2", transfer, true),
        FilterCase("(args.value == 1000 or args.value == 1) and args.value == 2", transfer, false),
        FilterCase("args.value == 1 and args.value == 2 or args.value == 1000", transfer, true),
        FilterCase("args.value == 1 and (args.value == 2 or args.value == 1000)", transfer, false),
        FilterCase("not args.value == 1 and args.value == 1000", transfer, true),
        FilterCase("not (args.value == 1000 or removed)", transfer, false),
        FilterCase("not not (args.value == 1000)", transfer, true),
        FilterCase("((((args.value == 1000))))", transfer, true),
        FilterCase("args.value == 1 || args.value == 1000 && !removed", transfer, true),
        // Missing values: every comparison is false, `not` flips that.
        FilterCase("args.missing == 1", transfer, false),
        FilterCase("args.missing != 1", transfer, false),
        FilterCase("args.missing < 1", transfer, false),
        FilterCase("args.missing in [1, 2]", transfer, false),
        FilterCase("args.missing contains \"a\"", transfer, false),
        FilterCase("args.missing starts_with \"a\"", transfer, false),
        FilterCase("args.missing", transfer, false),
        FilterCase("not (args.missing == 1)", transfer, true),
        FilterCase("args.value == args.missing", transfer, false),
        FilterCase("args.value != args.missing", transfer, false),
        FilterCase("args.nothing == \"x\"", assorted, false),
        FilterCase("args.nothing != \"x\"", assorted, false),
        FilterCase("event.name == \"Transfer\"", undecoded, false),
        FilterCase("event.name != \"Transfer\"", undecoded, false),
        FilterCase("args.value > 0", undecoded, false),
        FilterCase("not (args.value > 0) and address == \(FilterSamples.usdc)", undecoded, true),
        FilterCase("topics.3 == 0x00", undecoded, false),
        // Type mismatches at evaluation: orderings false, different kinds unequal.
        FilterCase("args.memo < 5", assorted, false),
        FilterCase("args.memo == 5", assorted, false),
        FilterCase("args.memo != 5", assorted, true),
        FilterCase("args.flag > 0", assorted, false),
        FilterCase("args.flag == \"true\"", assorted, false),
        FilterCase("args.ids == 7", assorted, false),
        FilterCase("args.ids starts_with \"5\"", assorted, false),
        FilterCase("args.flag contains \"t\"", assorted, false),
        FilterCase("args.to > 5", transfer, true),
        FilterCase("event.name == event.signature", transfer, false),
    ]

    @Test("evaluation table", arguments: cases)
    func evaluationTable(_ testCase: FilterCase) throws {
        let expression = try FilterExpression.compile(testCase.expression)
        #expect(expression.evaluate(testCase.event) == testCase.expected)
    }

    @Test("the generic context path agrees with the direct event path", arguments: cases)
    func contextPathAgrees(_ testCase: FilterCase) throws {
        let expression = try FilterExpression.compile(testCase.expression)
        let direct = expression.evaluate(testCase.event)
        let generic = expression.evaluate(EventAsContext(event: testCase.event))
        #expect(direct == generic)
    }

    @Test("the normalized description compiles to an expression with the same result", arguments: cases)
    func descriptionRoundTrips(_ testCase: FilterCase) throws {
        let expression = try FilterExpression.compile(testCase.expression)
        let again = try FilterExpression.compile(expression.description)
        #expect(again.description == expression.description)
        #expect(again == expression)
        #expect(again.evaluate(testCase.event) == testCase.expected)
    }

    @Test func evaluatesDictionaryContexts() throws {
        let large = try FilterExpression.compile("args.value > 1000000000000000000000 and args.to == 0xABC")
        let huge = BigInt(10).power(30)
        #expect(large.evaluate(["args.value": .integer(huge), "args.to": "0xabc"]))
        #expect(!large.evaluate(["args.value": 5, "args.to": "0xabc"]))
        #expect(!large.evaluate(["args.to": "0xabc"]))
        #expect(large.evaluate(["args.value": "1000000000000000000001", "args.to": "0xAbC"]))

        let texts = try FilterExpression.compile("args.a < args.b")
        // Two numbers order numerically; two strings do not order at all.
        #expect(texts.evaluate(["args.a": 9, "args.b": 10]))
        #expect(!texts.evaluate(["args.a": "9", "args.b": "10"]))
        #expect(texts.evaluate(["args.a": 9, "args.b": "10"]))

        let lists = try FilterExpression.compile("args.ids contains 3 and args.flag")
        #expect(lists.evaluate(["args.ids": [1, 2, 3], "args.flag": true]))
        #expect(!lists.evaluate(["args.ids": [1, 2], "args.flag": true]))
        #expect(!lists.evaluate(["args.ids": [1, 2, 3], "args.flag": "true"]))
    }

    @Test func readsEventValuesByPath() {
        let event = FilterSamples.transfer(value: FilterSamples.uint256Max)
        #expect(event.filterValue(at: FilterPath(["args", "value"])) == .integer(BigInt(FilterSamples.uint256Max)!))
        #expect(event.filterValue(at: FilterPath(["args", "to"])) == .string(FilterSamples.bob))
        #expect(event.filterValue(at: FilterPath(["block", "number"])) == 19_000_000)
        #expect(event.filterValue(at: FilterPath(["status"])) == "confirmed")
        #expect(event.filterValue(at: FilterPath(["removed"])) == false)
        #expect(event.filterValue(at: FilterPath(["args", "missing"])) == nil)
        #expect(event.filterValue(at: FilterPath(["nonsense"])) == nil)
        #expect(event.filterValue(at: FilterPath([])) == nil)
        #expect(FilterSamples.undecoded().filterValue(at: FilterPath(["event", "name"])) == nil)
    }

    @Test func referencedPathsListEveryPathRead() throws {
        let expression = try FilterExpression.compile(
            "event.name == \"Transfer\" and (args.value > 5 or args.to in [0x01]) and not removed and args.value < 9")
        #expect(
            expression.referencedPaths
                == [
                    FilterPath(["event", "name"]), FilterPath(["args", "value"]), FilterPath(["args", "to"]),
                    FilterPath(["removed"]),
                ])
        #expect(expression.requiresDecodedEvent)
        let envelope = try FilterExpression.compile("address == 0x01 and block.number > 5 and topics.1 == 0x02")
        #expect(envelope.referencedPaths.map(\.description).sorted() == ["address", "block.number", "topics.1"])
        #expect(!envelope.requiresDecodedEvent)
    }

    @Test func describesTheNormalizedExpression() throws {
        let cases: [(String, String)] = [
            ("args.a == 1 || args.b == 2 && args.c == 3", "args.a == 1 or args.b == 2 and args.c == 3"),
            ("(args.a == 1 or args.b == 2) and args.c == 3", "(args.a == 1 or args.b == 2) and args.c == 3"),
            ("((args.a == 1))", "args.a == 1"),
            ("!(args.a == 1 && args.b == 2)", "not (args.a == 1 and args.b == 2)"),
            ("args.a == 1 and (args.b == 2 and args.c == 3)", "args.a == 1 and args.b == 2 and args.c == 3"),
            ("args.to == 0xABCDEF", "args.to == 0xabcdef"),
            ("args.to == '0xABC'", "args.to == \"0xABC\""),
            ("args.v >= 1_000e3", "args.v >= 1000000"),
            ("args.v > -0", "args.v > 0"),
            ("args.m == 'a\"b\\\\c\\n'", "args.m == \"a\\\"b\\\\c\\n\""),
            ("args.v in [1,0x0A,'x',true]", "args.v in [1, 0x0a, \"x\", true]"),
            ("not not removed", "not not removed"),
            ("args.s starts_with 'a'", "args.s starts_with \"a\""),
        ]
        for (source, expected) in cases {
            let expression = try FilterExpression.compile(source)
            #expect(expression.description == expected, "\(source)")
            #expect(expression.source == source)
        }
    }

    @Test func evaluatesMembershipListsOfManyAddresses() throws {
        let recipients = (0..<500).map {
            "0x" + String(repeating: "0", count: 37) + String($0, radix: 16).leftPadded(to: 3)
        }
        let expression = try FilterExpression.compile(
            "args.to in [\(recipients.joined(separator: ", ")), 0xAB5801A7D398351B8BE11C439E05C5B3259AEC9B]")
        #expect(expression.evaluate(FilterSamples.transfer()))
        #expect(!expression.evaluate(FilterSamples.transfer(to: FilterSamples.alice)))
        #expect(recipients[427].hasSuffix("1ab"))
        #expect(expression.evaluate(FilterSamples.transfer(to: "0x" + recipients[427].dropFirst(2).uppercased())))
    }

    @Test func neverFailsOnArbitraryInput() {
        // A deterministic stream of token soup: every input either compiles and evaluates, or fails with a
        // position inside the source.
        let pieces = [
            "args.value", "args.to", "event.name", "block.number", "topics.0", "removed", "foo", "(", ")", "[", "]",
            ",", "==", "!=", "<", ">=", "!", "&&", "||", "and", "or", "not", "in", "contains", "starts_with", "1",
            "-1", "1e80", "0x", "0xAb", "'s'", "\"t", "\\", "=", "&", ".", "1.5", "é", "🦄", " ", "true",
        ]
        var state: UInt64 = 0x2545_F491_4F6C_DD1D
        var compiled = 0
        for _ in 0..<3_000 {
            var source = ""
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            for _ in 0..<(1 + Int(state >> 60)) {
                state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                source += pieces[Int(state >> 33) % pieces.count] + " "
            }
            do throws(FilterError) {
                let expression = try FilterExpression.compile(source)
                _ = expression.evaluate(FilterSamples.transfer())
                _ = expression.evaluate(FilterSamples.undecoded())
                compiled += 1
            } catch {
                #expect(error.position >= 0 && error.position <= source.count, "\(source)")
                #expect(!error.reason.isEmpty)
            }
        }
        #expect(compiled > 0)
    }
}

/// Evaluates through the generic ``FilterContext`` path, for comparison with the direct event path.
struct EventAsContext: FilterContext {
    let event: Tributary_V1_CanonicalEvent
    func filterValue(at path: FilterPath) -> FilterValue? { event.filterValue(at: path) }
}

extension String {
    fileprivate func leftPadded(to length: Int) -> String {
        String(repeating: "0", count: max(0, length - count)) + self
    }
}
