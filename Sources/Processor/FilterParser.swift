/// Turns expression text into a ``FilterNode``, reporting the first problem with its position and what
/// would have been accepted there.
///
/// Grammar (see docs/filters.md):
/// ```
/// expression = and { ("or" | "||") and }
/// and        = unary { ("and" | "&&") unary }
/// unary      = ("not" | "!") unary | "(" expression ")" | condition
/// condition  = operand [ comparison operand | "in" list | text-op operand ]
/// ```
struct FilterParser {
    private var lexer: FilterLexer
    private var current: FilterToken
    private let source: String
    private var depth = 0
    private var openParentheses: [Int] = []

    private static let valueExpected = ["a path", "a number", "a string", "a hex value", "true", "false"]
    private static let literalExpected = ["a number", "a string", "a hex value", "true", "false"]
    private static let conditionExpected = ["a path", "a literal", "not", "("]
    private static let operatorExpected = [
        "==", "!=", "<", "<=", ">", ">=", "in", "contains", "starts_with", "ends_with",
    ]

    /// Creates a parser and reads the first token.
    init(_ source: String) throws(FilterError) {
        self.source = source
        self.lexer = FilterLexer(source)
        self.current = try lexer.next()
    }

    /// Parses the whole source.
    ///
    /// - Throws: ``FilterError`` for the first problem found, in source order.
    mutating func parse() throws(FilterError) -> FilterNode {
        if case .end = current.kind {
            throw syntax(
                "expected a condition at position \(current.start), found an empty expression",
                expected: Self.conditionExpected)
        }
        let node = try parseOr()
        guard case .end = current.kind else {
            if case .symbol(.closeParen) = current.kind {
                throw syntax(
                    "unbalanced ')' at position \(current.start): no '(' is open",
                    expected: ["and", "or", "end of input"])
            }
            throw unexpected("'and', 'or' or end of input", expected: ["and", "or", "end of input"])
        }
        return node
    }

    // MARK: - Boolean structure

    private mutating func parseOr() throws(FilterError) -> FilterNode {
        var terms = [try parseAnd()]
        while isKeyword(.or) || isSymbol(.orOr) {
            try advance()
            terms.append(try parseAnd())
        }
        return terms.count == 1
            ? terms[0] : .any(terms.flatMap { if case .any(let inner) = $0 { inner } else { [$0] } })
    }

    private mutating func parseAnd() throws(FilterError) -> FilterNode {
        var terms = [try parseUnary()]
        while isKeyword(.and) || isSymbol(.andAnd) {
            try advance()
            terms.append(try parseUnary())
        }
        return terms.count == 1
            ? terms[0] : .all(terms.flatMap { if case .all(let inner) = $0 { inner } else { [$0] } })
    }

    private mutating func parseUnary() throws(FilterError) -> FilterNode {
        if isKeyword(.not) || isSymbol(.bang) {
            try enterNesting()
            try advance()
            let operand = try parseUnary()
            depth -= 1
            return .not(operand)
        }
        if isSymbol(.openParen) {
            let open = current.start
            try enterNesting()
            try advance()
            openParentheses.append(open)
            let inner = try parseOr()
            guard isSymbol(.closeParen) else {
                throw syntax(
                    "expected ')' at position \(current.start) to close the '(' at position \(open), found "
                        + current.quotedForMessage, expected: [")", "and", "or"])
            }
            openParentheses.removeLast()
            try advance()
            depth -= 1
            return inner
        }
        return try parseCondition()
    }

    private mutating func enterNesting() throws(FilterError) {
        depth += 1
        guard depth <= FilterExpression.maximumNestingDepth else {
            throw FilterError(
                .nestingTooDeep,
                "the expression nests deeper than \(FilterExpression.maximumNestingDepth) levels at position "
                    + "\(current.start); simplify it", position: current.start, source: source)
        }
    }

    // MARK: - Conditions

    private mutating func parseCondition() throws(FilterError) -> FilterNode {
        guard let lhs = try parseOperand() else {
            throw unexpected("a condition", expected: Self.conditionExpected)
        }
        let lhsEnd = current.start
        switch current.kind {
        case .symbol(let symbol):
            guard let comparison = FilterComparison(symbol) else { break }
            let operatorStart = current.start
            try advance()
            guard let rhs = try parseOperand() else { throw unexpected("a value", expected: Self.valueExpected) }
            try FilterTypeCheck.comparison(lhs, comparison, rhs, position: operatorStart, source: source)
            return .compare(lhs, comparison, rhs)
        case .keyword(.in):
            try advance()
            let list = try parseList(for: lhs)
            return .membership(lhs, list)
        case .keyword(let keyword):
            guard let operation = FilterTextOperation(rawValue: keyword.rawValue) else { break }
            let operatorStart = current.start
            try advance()
            guard let rhs = try parseOperand() else { throw unexpected("a value", expected: Self.valueExpected) }
            try FilterTypeCheck.textOperation(lhs, operation, rhs, position: operatorStart, source: source)
            return .text(lhs, operation, rhs)
        default:
            break
        }
        guard FilterTypeCheck.canStandAlone(lhs) else {
            throw syntax(
                "expected a comparison operator after '\(lhs.description)' at position \(lhsEnd), found "
                    + current.quotedForMessage, expected: Self.operatorExpected, at: lhsEnd)
        }
        return .truthy(lhs)
    }

    /// Reads a path or literal; `nil` (without consuming) when the current token is neither.
    private mutating func parseOperand() throws(FilterError) -> FilterOperand? {
        switch current.kind {
        case .path(let components):
            let field = try FilterField(components: components, position: current.start, source: source)
            let operand = FilterOperand.path(FilterPathReference(path: FilterPath(components), field: field))
            try advance()
            return operand
        default:
            guard let literal = literal() else { return nil }
            try advance()
            return .literal(literal)
        }
    }

    /// The current token as a literal, if it is one.
    private func literal() -> FilterLiteral? {
        switch current.kind {
        case .number(let number): return .number(number)
        case .string(let text): return .text(FilterText(text, isBare: false))
        case .hex(let text): return .text(FilterText(text, isBare: true))
        case .keyword(.true): return .bool(true)
        case .keyword(.false): return .bool(false)
        default: return nil
        }
    }

    private mutating func parseList(for lhs: FilterOperand) throws(FilterError) -> FilterMembershipList {
        guard isSymbol(.openBracket) else {
            throw unexpected("'[' after 'in'", expected: ["["])
        }
        try advance()
        var literals: [FilterLiteral] = []
        if isSymbol(.closeBracket) {
            try advance()
            return FilterMembershipList(literals)
        }
        while true {
            guard let literal = literal() else {
                if case .path = current.kind {
                    throw syntax(
                        "a list holds literals only; found the path \(current.quotedForMessage) at position "
                            + "\(current.start)", expected: Self.literalExpected)
                }
                throw unexpected("a literal", expected: Self.literalExpected)
            }
            try FilterTypeCheck.comparison(
                lhs, .equal, .literal(literal), position: current.start, source: source)
            literals.append(literal)
            try advance()
            if isSymbol(.comma) {
                try advance()
            } else if isSymbol(.closeBracket) {
                try advance()
                return FilterMembershipList(literals)
            } else {
                throw unexpected("',' or ']'", expected: [",", "]"])
            }
        }
    }

    // MARK: - Tokens and errors

    private mutating func advance() throws(FilterError) {
        current = try lexer.next()
    }

    private func isKeyword(_ keyword: FilterKeyword) -> Bool {
        if case .keyword(keyword) = current.kind { return true }
        return false
    }

    private func isSymbol(_ symbol: FilterSymbol) -> Bool {
        if case .symbol(symbol) = current.kind { return true }
        return false
    }

    private func unexpected(_ what: String, expected: [String], line: Int = #line) -> FilterError {
        var reason = "expected \(what) at position \(current.start), found \(current.quotedForMessage)"
        if case .end = current.kind, let open = openParentheses.last {
            reason += " (the '(' at position \(open) is still open)"
        }
        return syntax(reason, expected: expected, line: line)
    }

    private func syntax(_ reason: String, expected: [String], at position: Int? = nil, line: Int = #line) -> FilterError
    {
        FilterError(
            .syntax, reason, position: position ?? current.start, expected: expected, source: source, line: line)
    }
}
