import BigInt

/// One token of a filter expression, with its 0-based character span.
struct FilterToken: Sendable {
    /// What the token is.
    enum Kind: Sendable {
        /// A dotted path, split into its parts.
        case path([String])
        /// An integer literal.
        case number(FilterNumber)
        /// A quoted string literal, escapes resolved.
        case string(String)
        /// A bare `0x…` literal, as written.
        case hex(String)
        /// A reserved word.
        case keyword(FilterKeyword)
        /// An operator or punctuation.
        case symbol(FilterSymbol)
        /// The end of the input.
        case end
    }

    let kind: Kind
    /// The offset of the first character.
    let start: Int
    /// The offset just past the last character.
    let end: Int
    /// The source text of the token, for messages.
    let text: String

    /// How an error message names this token: `'>'`, `'foo'` or `end of input`.
    var quotedForMessage: String {
        if case .end = kind { return "end of input" }
        let shown = text.count > 24 ? String(text.prefix(24)) + "…" : text
        return "'\(shown)'"
    }
}

/// Reserved words; they are keywords only when written alone, lowercase (`args.in` is a path).
enum FilterKeyword: String, Sendable, CaseIterable {
    case and, or, not, `in`, contains, `true`, `false`
    case startsWith = "starts_with"
    case endsWith = "ends_with"
}

/// Operators and punctuation.
enum FilterSymbol: String, Sendable {
    case equal = "==", notEqual = "!=", less = "<", lessOrEqual = "<=", greater = ">", greaterOrEqual = ">="
    case andAnd = "&&", orOr = "||", bang = "!"
    case openParen = "(", closeParen = ")", openBracket = "[", closeBracket = "]", comma = ","
}

/// Splits expression text into tokens on demand, so that errors are reported in source order.
struct FilterLexer {
    private let characters: [Character]
    private let source: String
    private var offset = 0

    init(_ source: String) {
        self.source = source
        self.characters = Array(source)
    }

    /// The number of characters in the source: the position of ``FilterToken/Kind/end``.
    var length: Int { characters.count }

    /// Reads the next token.
    ///
    /// - Throws: ``FilterError`` with code `syntax` for a character that starts no token, an unterminated
    ///   string or an unknown escape; `invalidNumber` for a malformed or out-of-range number.
    mutating func next() throws(FilterError) -> FilterToken {
        while offset < characters.count, characters[offset].isWhitespace { offset += 1 }
        let start = offset
        guard offset < characters.count else { return FilterToken(kind: .end, start: start, end: start, text: "") }
        let character = characters[offset]
        if Self.isIdentifierStart(character) { return try path(from: start) }
        if Self.isDigit(character) { return try number(from: start) }
        if character == "-" {
            guard offset + 1 < characters.count, Self.isDigit(characters[offset + 1]) else {
                throw error("expected a digit after '-'", at: start + 1, expected: ["a digit"])
            }
            return try number(from: start)
        }
        if character == "\"" || character == "'" { return try string(from: start, quote: character) }
        return try symbol(from: start)
    }

    // MARK: - Paths and keywords

    private mutating func path(from start: Int) throws(FilterError) -> FilterToken {
        var segments = [identifier()]
        while offset < characters.count, characters[offset] == "." {
            offset += 1
            if offset < characters.count, Self.isIdentifierStart(characters[offset]) {
                segments.append(identifier())
            } else if offset < characters.count, Self.isDigit(characters[offset]) {
                let digitsStart = offset
                while offset < characters.count, Self.isDigit(characters[offset]) { offset += 1 }
                segments.append(String(characters[digitsStart..<offset]))
                if offset < characters.count, Self.isIdentifierPart(characters[offset]) {
                    throw error(
                        "a path index must be a number at position \(digitsStart)", at: digitsStart,
                        expected: ["a field name", "an index"])
                }
            } else {
                throw error(
                    "expected a field name after '.' at position \(offset), found \(found(at: offset))", at: offset,
                    expected: ["a field name", "an index"])
            }
        }
        let text = String(characters[start..<offset])
        if segments.count == 1, let keyword = FilterKeyword(rawValue: segments[0]) {
            return FilterToken(kind: .keyword(keyword), start: start, end: offset, text: text)
        }
        return FilterToken(kind: .path(segments), start: start, end: offset, text: text)
    }

    private mutating func identifier() -> String {
        let start = offset
        while offset < characters.count, Self.isIdentifierPart(characters[offset]) { offset += 1 }
        return String(characters[start..<offset])
    }

    static func isDigit(_ character: Character) -> Bool {
        character.isASCII && character.isNumber
    }

    static func isIdentifierStart(_ character: Character) -> Bool {
        character.isASCII && (character.isLetter || character == "_" || character == "$")
    }

    static func isIdentifierPart(_ character: Character) -> Bool {
        character.isASCII && (character.isLetter || character.isNumber || character == "_" || character == "$")
    }

    // MARK: - Numbers

    private mutating func number(from start: Int) throws(FilterError) -> FilterToken {
        let negative = characters[offset] == "-"
        if negative { offset += 1 }
        if characters[offset] == "0", offset + 1 < characters.count,
            characters[offset + 1] == "x" || characters[offset + 1] == "X"
        {
            if negative { throw error("a hex value cannot be negative", at: start) }
            return try hex(from: start)
        }
        var digits = readDigits()
        var fractionLength = 0
        if offset + 1 < characters.count, characters[offset] == ".", Self.isDigit(characters[offset + 1]) {
            offset += 1
            let fraction = readDigits()
            fractionLength = fraction.count
            digits += fraction
        }
        var exponent = 0
        if offset < characters.count, characters[offset] == "e" || characters[offset] == "E" {
            offset += 1
            if offset < characters.count, characters[offset] == "+" { offset += 1 }
            let exponentDigits = readDigits()
            guard !exponentDigits.isEmpty else {
                throw error(
                    "expected exponent digits at position \(offset), found \(found(at: offset))", at: offset,
                    expected: ["a digit"], code: .invalidNumber)
            }
            exponent = exponentDigits.count > 6 ? 1_000_000 : Int(exponentDigits) ?? 1_000_000
        }
        if offset < characters.count, Self.isIdentifierPart(characters[offset]) || characters[offset] == "." {
            throw error(
                "invalid character '\(characters[offset])' in number at position \(offset)", at: offset,
                code: .invalidNumber)
        }
        let text = String(characters[start..<offset])
        if text.hasSuffix("_") || text.contains("_.") || text.contains("_e") || text.contains("_E") {
            throw error(
                "'\(text)' is not a valid number: '_' may only separate digits", at: start, code: .invalidNumber)
        }
        guard
            let number = makeNumber(
                digits: digits, fractionLength: fractionLength, exponent: exponent, negative: negative)
        else {
            throw error(
                "the number '\(text)' at position \(start) is outside the 256-bit range (-2^255 … 2^256-1)", at: start,
                code: .invalidNumber)
        }
        guard let number else {
            throw error(
                "the number '\(text)' at position \(start) is not an integer; filters compare integers only"
                    + " (write amounts in base units, for example 1.5e18)", at: start, code: .invalidNumber)
        }
        return FilterToken(kind: .number(number), start: start, end: offset, text: text)
    }

    /// Reads digits and `_` separators; returns the digits only.
    private mutating func readDigits() -> String {
        var digits = ""
        while offset < characters.count, (Self.isDigit(characters[offset])) || characters[offset] == "_" {
            if characters[offset] != "_" { digits.append(characters[offset]) }
            offset += 1
        }
        return digits
    }

    /// `.some(nil)` when the value is not an integer; `nil` when it is out of range.
    private func makeNumber(digits: String, fractionLength: Int, exponent: Int, negative: Bool) -> FilterNumber?? {
        let significant = digits.drop { $0 == "0" }
        if significant.isEmpty { return .some(FilterNumber(BigInt(0))) }
        let scale = exponent - fractionLength
        if significant.count + scale > 78 { return nil }
        guard var magnitude = BigInt(String(significant), radix: 10) else { return nil }
        if scale >= 0 {
            magnitude *= BigInt(10).power(scale)
        } else {
            let (quotient, remainder) = magnitude.quotientAndRemainder(dividingBy: BigInt(10).power(-scale))
            guard remainder.isZero else { return .some(nil) }
            magnitude = quotient
        }
        guard let number = FilterNumber(negative ? -magnitude : magnitude) else { return nil }
        return .some(number)
    }

    private mutating func hex(from start: Int) throws(FilterError) -> FilterToken {
        offset += 2
        while offset < characters.count, characters[offset].isASCII, characters[offset].isHexDigit { offset += 1 }
        if offset < characters.count, Self.isIdentifierPart(characters[offset]) || characters[offset] == "." {
            throw error(
                "invalid hex digit '\(characters[offset])' at position \(offset)", at: offset,
                expected: ["a hex digit"])
        }
        let text = String(characters[start..<offset])
        return FilterToken(kind: .hex(text), start: start, end: offset, text: text)
    }

    // MARK: - Strings

    private mutating func string(from start: Int, quote: Character) throws(FilterError) -> FilterToken {
        offset += 1
        var value = ""
        while offset < characters.count {
            let character = characters[offset]
            if character == quote {
                offset += 1
                return FilterToken(
                    kind: .string(value), start: start, end: offset, text: String(characters[start..<offset]))
            }
            if character == "\\" {
                guard offset + 1 < characters.count else { break }
                switch characters[offset + 1] {
                case "\\": value.append("\\")
                case "'": value.append("'")
                case "\"": value.append("\"")
                case "n": value.append("\n")
                case "t": value.append("\t")
                case "r": value.append("\r")
                default:
                    throw error(
                        "unknown escape '\\\(characters[offset + 1])' at position \(offset)", at: offset,
                        expected: ["\\\\", "\\'", "\\\"", "\\n", "\\t", "\\r"])
                }
                offset += 2
            } else {
                value.append(character)
                offset += 1
            }
        }
        throw error(
            "unterminated string starting at position \(start): expected a closing \(quote) before the end of input",
            at: start, expected: [String(quote)])
    }

    // MARK: - Symbols

    private mutating func symbol(from start: Int) throws(FilterError) -> FilterToken {
        let character = characters[offset]
        let following: Character? = offset + 1 < characters.count ? characters[offset + 1] : nil
        let symbol: FilterSymbol
        switch (character, following) {
        case ("=", "="): symbol = .equal
        case ("!", "="): symbol = .notEqual
        case ("<", "="): symbol = .lessOrEqual
        case (">", "="): symbol = .greaterOrEqual
        case ("&", "&"): symbol = .andAnd
        case ("|", "|"): symbol = .orOr
        case ("<", _): symbol = .less
        case (">", _): symbol = .greater
        case ("!", _): symbol = .bang
        case ("(", _): symbol = .openParen
        case (")", _): symbol = .closeParen
        case ("[", _): symbol = .openBracket
        case ("]", _): symbol = .closeBracket
        case (",", _): symbol = .comma
        case ("=", _):
            throw error("expected '==' at position \(start), found '='", at: start, expected: ["=="])
        case ("&", _):
            throw error("expected '&&' at position \(start), found '&'", at: start, expected: ["&&", "and"])
        case ("|", _):
            throw error("expected '||' at position \(start), found '|'", at: start, expected: ["||", "or"])
        default:
            throw error("unexpected character '\(character)' at position \(start)", at: start)
        }
        offset += symbol.rawValue.count
        return FilterToken(kind: .symbol(symbol), start: start, end: offset, text: symbol.rawValue)
    }

    // MARK: - Errors

    private func found(at position: Int) -> String {
        position < characters.count ? "'\(characters[position])'" : "end of input"
    }

    private func error(
        _ reason: String, at position: Int, expected: [String] = [], code: FilterError.Code = .syntax,
        line: Int = #line
    ) -> FilterError {
        FilterError(code, reason, position: position, expected: expected, source: source, line: line)
    }
}
