import Processor
import Testing

/// One malformed expression and what compiling it must report.
struct MalformedFilter: Sendable, CustomTestStringConvertible {
    let source: String
    let code: FilterError.Code
    let position: Int
    let reason: String
    let expected: [String]

    init(
        _ source: String, _ code: FilterError.Code, at position: Int, _ reason: String,
        expecting expected: [String] = []
    ) {
        self.source = source
        self.code = code
        self.position = position
        self.reason = reason
        self.expected = expected
    }

    var testDescription: String { source.isEmpty ? "(empty)" : source }
}

@Suite("Filter language: compile errors")
struct FilterErrorTests {
    static func compileError(_ source: String) -> FilterError? {
        do throws(FilterError) {
            _ = try FilterExpression.compile(source)
            return nil
        } catch {
            return error
        }
    }

    static let malformed: [MalformedFilter] = [
        MalformedFilter(
            "args.value > ", .syntax, at: 13, "expected a value at position 13, found end of input",
            expecting: ["a path", "a number", "a string", "a hex value", "true", "false"]),
        MalformedFilter("args.value >> 5", .syntax, at: 12, "expected a value at position 12, found '>'"),
        MalformedFilter("args.value > and", .syntax, at: 13, "expected a value at position 13, found 'and'"),
        MalformedFilter("args.value contains", .syntax, at: 19, "expected a value at position 19"),
        MalformedFilter(
            "(args.value > 5", .syntax, at: 15,
            "expected ')' at position 15 to close the '(' at position 0, found end of input",
            expecting: [")", "and", "or"]),
        MalformedFilter(
            "args.value > 5 and (removed", .syntax, at: 27,
            "expected ')' at position 27 to close the '(' at position 19"),
        MalformedFilter("((args.a == 1)", .syntax, at: 14, "to close the '(' at position 0"),
        MalformedFilter("args.value > 5)", .syntax, at: 14, "unbalanced ')' at position 14"),
        MalformedFilter(")", .syntax, at: 0, "expected a condition at position 0, found ')'"),
        MalformedFilter("()", .syntax, at: 1, "expected a condition at position 1, found ')'"),
        MalformedFilter(
            "event.name == \"Transfer", .syntax, at: 14, "unterminated string starting at position 14",
            expecting: ["\""]),
        MalformedFilter("'abc", .syntax, at: 0, "unterminated string starting at position 0", expecting: ["'"]),
        MalformedFilter("event.name == 'a\\'", .syntax, at: 14, "unterminated string"),
        MalformedFilter("event.name == 'a\\q'", .syntax, at: 16, "unknown escape '\\q' at position 16"),
        MalformedFilter(
            "args.to in 0xabc", .syntax, at: 11, "expected '[' after 'in' at position 11, found '0xabc'",
            expecting: ["["]),
        MalformedFilter("args.to in", .syntax, at: 10, "expected '[' after 'in' at position 10, found end of input"),
        MalformedFilter(
            "args.value in [1, 2", .syntax, at: 19, "expected ',' or ']' at position 19", expecting: [",", "]"]),
        MalformedFilter("args.value in [1,]", .syntax, at: 17, "expected a literal at position 17, found ']'"),
        MalformedFilter("args.value in [args.x]", .syntax, at: 15, "a list holds literals only"),
        MalformedFilter(
            "args.value > 115792089237316195423570985008687907853269984665640564039457584007913129639936",
            .invalidNumber, at: 13, "is outside the 256-bit range"),
        MalformedFilter(
            "args.value > -57896044618658097711785492504343953926634992332820282019728792003956564819969",
            .invalidNumber, at: 13, "is outside the 256-bit range"),
        MalformedFilter("args.value > 1e78", .invalidNumber, at: 13, "outside the 256-bit range"),
        MalformedFilter("args.value > 1e999999999999", .invalidNumber, at: 13, "outside the 256-bit range"),
        MalformedFilter("args.value > 1.5", .invalidNumber, at: 13, "is not an integer"),
        MalformedFilter("args.value > 1.25e1", .invalidNumber, at: 13, "is not an integer"),
        MalformedFilter("args.value >= 1e", .invalidNumber, at: 16, "expected exponent digits at position 16"),
        MalformedFilter("args.value > 1_", .invalidNumber, at: 13, "'_' may only separate digits"),
        MalformedFilter("args.value > 12abc", .invalidNumber, at: 15, "invalid character 'a' in number at position 15"),
        MalformedFilter("args.value > 0xZZ", .syntax, at: 15, "invalid hex digit 'Z' at position 15"),
        MalformedFilter("args.value > -", .syntax, at: 14, "expected a digit after '-'"),
        MalformedFilter("args.value > -0x1", .syntax, at: 13, "a hex value cannot be negative"),
        MalformedFilter(
            "args.value > 5 and", .syntax, at: 18, "expected a condition at position 18, found end of input",
            expecting: ["a path", "a literal", "not", "("]),
        MalformedFilter("and args.value > 5", .syntax, at: 0, "expected a condition at position 0, found 'and'"),
        MalformedFilter(
            "args.value > 5 and or removed", .syntax, at: 19, "expected a condition at position 19, found 'or'"),
        MalformedFilter("removed ||", .syntax, at: 10, "expected a condition at position 10"),
        MalformedFilter("not", .syntax, at: 3, "expected a condition at position 3, found end of input"),
        MalformedFilter("", .syntax, at: 0, "found an empty expression"),
        MalformedFilter("   ", .syntax, at: 3, "found an empty expression"),
        MalformedFilter(
            "args.value > 5 args.x", .syntax, at: 15,
            "expected 'and', 'or' or end of input at position 15, found 'args.x'"),
        MalformedFilter(
            "args.value < 5 < 6", .syntax, at: 15, "expected 'and', 'or' or end of input at position 15, found '<'"),
        MalformedFilter("args.value = 5", .syntax, at: 11, "expected '==' at position 11", expecting: ["=="]),
        MalformedFilter("args.value & 5", .syntax, at: 11, "expected '&&' at position 11"),
        MalformedFilter("args.value | 5", .syntax, at: 11, "expected '||' at position 11"),
        MalformedFilter("args.value > 5 @", .syntax, at: 15, "unexpected character '@' at position 15"),
        MalformedFilter(
            "block.number", .syntax, at: 12, "expected a comparison operator after 'block.number' at position 12"),
        MalformedFilter("5", .syntax, at: 1, "expected a comparison operator after '5' at position 1"),
        MalformedFilter(
            "\"x\" and removed", .syntax, at: 4, "expected a comparison operator after '\"x\"' at position 4"),
        MalformedFilter("args.", .syntax, at: 5, "expected a field name after '.' at position 5, found end of input"),
        MalformedFilter(
            "args.value. > 1", .syntax, at: 11, "expected a field name after '.' at position 11, found ' '"),
        MalformedFilter("args.1x == 1", .syntax, at: 5, "a path index must be a number at position 5"),
        MalformedFilter(
            "foo.bar == 1", .unknownPath, at: 0,
            "unknown path 'foo.bar' at position 0; a path starts with one of args, event",
            expecting: [
                "args", "event", "tx", "block", "log", "topics", "address", "chain", "status", "removed", "data", "id",
            ]),
        MalformedFilter("args.value > 5 and value > 5", .unknownPath, at: 19, "unknown path 'value' at position 19"),
        MalformedFilter("AND", .unknownPath, at: 0, "keywords are lowercase: did you mean 'and'?"),
        MalformedFilter(
            "block.height > 5", .unknownPath, at: 6, "unknown field 'height' of 'block' at position 6",
            expecting: ["hash", "number", "parent_hash", "timestamp"]),
        MalformedFilter("block == 5", .unknownPath, at: 5, "'block' needs a field"),
        MalformedFilter(
            "block.number.low > 5", .unknownPath, at: 13, "'block.number' has no field 'low' at position 13"),
        MalformedFilter("address.x == 1", .unknownPath, at: 8, "'address' has no field 'x'"),
        MalformedFilter("args == 1", .unknownPath, at: 4, "'args' needs an argument name or index"),
        MalformedFilter(
            "topics.x == 0x01", .unknownPath, at: 7, "expected a topic index such as topics.0, found 'x' at position 7"),
        MalformedFilter("removed > 1", .typeMismatch, at: 8, "'>' compares numbers, but 'removed' is a boolean"),
        MalformedFilter("args.v < \"abc\"", .typeMismatch, at: 7, "'<' compares numbers, but '\"abc\"' is text"),
        MalformedFilter("event.name > 5", .typeMismatch, at: 11, "'>' compares numbers, but 'event.name' is text"),
        MalformedFilter("\"1\" < \"2\"", .typeMismatch, at: 4, "'<' needs a number on at least one side"),
        MalformedFilter(
            "block.number == \"abc\"", .typeMismatch, at: 13,
            "'block.number' is a number and '\"abc\"' is text, so '==' is always false"),
        MalformedFilter("removed == 1", .typeMismatch, at: 8, "'removed' is a boolean and '1' is a number"),
        MalformedFilter("1 != true", .typeMismatch, at: 2, "so '!=' is always true"),
        MalformedFilter("topics == 0x01", .typeMismatch, at: 7, "use 'contains' to look inside a list"),
        MalformedFilter("removed in [1, 2]", .typeMismatch, at: 12, "'removed' is a boolean and '1' is a number"),
        MalformedFilter(
            "removed starts_with \"t\"", .typeMismatch, at: 8, "needs text or a list, but 'removed' is a boolean"),
        MalformedFilter("topics starts_with 0x01", .typeMismatch, at: 7, "use 'contains'"),
        MalformedFilter("event.name contains true", .typeMismatch, at: 11, "'true' is a boolean"),
        MalformedFilter(
            "status == \"final\"", .invalidValue, at: 7, "status is one of unspecified, pending, confirmed, finalized",
            expecting: ["unspecified", "pending", "confirmed", "finalized"]),
        MalformedFilter("status in [\"confirmed\", \"done\"]", .invalidValue, at: 24, "not \"done\""),
        // Positions count characters, not bytes.
        MalformedFilter(
            "event.name == \"héllo\" and foo == 1", .unknownPath, at: 26, "unknown path 'foo' at position 26"),
        MalformedFilter("event.name == '🦄🦄' and foo == 1", .unknownPath, at: 23, "unknown path 'foo' at position 23"),
        MalformedFilter("event.name == '🦄' 🦄", .syntax, at: 18, "unexpected character '🦄' at position 18"),
    ]

    @Test("malformed expressions report position and expectation", arguments: malformed)
    func malformedExpression(_ testCase: MalformedFilter) throws {
        let error = try #require(Self.compileError(testCase.source))
        #expect(error.code == testCase.code, "\(error.reason)")
        #expect(error.position == testCase.position, "\(error.reason)")
        #expect(error.reason.contains(testCase.reason), "\(error.reason)")
        if !testCase.expected.isEmpty {
            #expect(error.expected == testCase.expected)
        }
        #expect(error.source == testCase.source)
        #expect(error.description == error.reason)
        #expect(error.file.hasPrefix("Processor/Filter"))
    }

    @Test func diagnosticPointsAtThePosition() throws {
        let error = try #require(Self.compileError("args.value > "))
        let caret = String(repeating: " ", count: 13) + "^ expected a value at position 13, found end of input"
        #expect(error.diagnostic == "args.value > \n" + caret)
        let multiline = try #require(Self.compileError("removed and\nfoo == 1"))
        #expect(multiline.position == 12)
        #expect(
            multiline.diagnostic.hasPrefix(
                "removed and foo == 1\n" + String(repeating: " ", count: 12) + "^ unknown path 'foo'"))
    }

    @Test func nestingIsBounded() throws {
        let limit = FilterExpression.maximumNestingDepth
        func parenthesized(_ depth: Int) -> String {
            String(repeating: "(", count: depth) + "removed" + String(repeating: ")", count: depth)
        }
        let deepest = try FilterExpression.compile(parenthesized(limit))
        #expect(deepest.description == "removed")
        let tooDeep = try #require(Self.compileError(parenthesized(limit + 1)))
        #expect(tooDeep.code == .nestingTooDeep)
        #expect(tooDeep.position == limit)

        let negations = try #require(Self.compileError(String(repeating: "not ", count: 10_000) + "removed"))
        #expect(negations.code == .nestingTooDeep)
        let parentheses = try #require(Self.compileError(String(repeating: "(", count: 100_000)))
        #expect(parentheses.code == .nestingTooDeep)
        #expect(
            try FilterExpression.compile(String(repeating: "not ", count: limit) + "removed").evaluate(["removed": true]
            ))
    }

    @Test func longFlatExpressionsCompile() throws {
        let clauses = (0..<2_000).map { "args.value != \($0)" }
        let expression = try FilterExpression.compile(clauses.joined(separator: " and "))
        #expect(expression.evaluate(FilterSamples.transfer(value: "5000")))
        #expect(!expression.evaluate(FilterSamples.transfer(value: "1999")))
    }

    @Test func acceptsTheBoundariesOfTheRange() throws {
        let maximum = try FilterExpression.compile("args.v == \(FilterSamples.uint256Max)")
        #expect(maximum.description == "args.v == \(FilterSamples.uint256Max)")
        let minimum = try FilterExpression.compile("args.v == \(FilterSamples.int256Min)")
        #expect(minimum.description == "args.v == \(FilterSamples.int256Min)")
        #expect(try FilterExpression.compile("args.v == 0e999999").description == "args.v == 0")
        #expect(try FilterExpression.compile("args.v == 1.0").description == "args.v == 1")
    }

    @Test func keywordsAfterADotArePathNames() throws {
        let expression = try FilterExpression.compile("args.in == 1 and args.not == 2 and args.true")
        #expect(expression.referencedPaths.map(\.description).sorted() == ["args.in", "args.not", "args.true"])
        #expect(expression.evaluate(["args.in": 1, "args.not": 2, "args.true": true]))
    }
}
