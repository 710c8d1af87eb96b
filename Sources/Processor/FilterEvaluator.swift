import BigInt

/// Supplies the value of each path an expression reads.
protocol FilterValueResolver {
    /// The value at `path`; `.missing` when absent.
    func value(of path: FilterPathReference) -> FilterRuntimeValue
}

/// A value during evaluation. Event values stay in the form the event holds them (decimal text,
/// `UInt64`), and literals carry what the compiler worked out, so that the common comparisons allocate nothing.
enum FilterRuntimeValue: Sendable {
    /// The path has no value in this event.
    case missing
    case bool(Bool)
    /// A numeric event field.
    case unsigned(UInt64)
    /// A number from a ``FilterContext`` or a JSON number.
    case integer(BigInt)
    /// Decimal text of a decoded argument whose Solidity type is an integer; a number.
    case decimal(String)
    /// An integer literal.
    case literalNumber(FilterNumber)
    /// Text from the event.
    case text(String)
    /// A string or hex literal.
    case literalText(FilterText)
    case list([FilterRuntimeValue])

    private enum Category { case missing, bool, number, text, list }

    private var category: Category {
        switch self {
        case .missing: return .missing
        case .bool: return .bool
        case .unsigned, .integer, .decimal, .literalNumber: return .number
        case .text, .literalText: return .text
        case .list: return .list
        }
    }

    /// `==` for present values: numbers numerically (text that reads as a decimal or `0x` number is converted
    /// when the other side is a number), text byte for byte (ignoring ASCII case when either side is `0x` hex),
    /// booleans and lists by value; values of different kinds are unequal.
    static func equal(_ lhs: FilterRuntimeValue, _ rhs: FilterRuntimeValue) -> Bool {
        switch (lhs.category, rhs.category) {
        case (.number, .number), (.number, .text), (.text, .number):
            return compareNumbers(lhs, rhs) == 0
        case (.text, .text):
            return textEqual(lhs, rhs)
        case (.bool, .bool):
            if case .bool(let left) = lhs, case .bool(let right) = rhs { return left == right }
            return false
        case (.list, .list):
            guard case .list(let left) = lhs, case .list(let right) = rhs, left.count == right.count else {
                return false
            }
            return zip(left, right).allSatisfy { equal($0, $1) }
        default:
            return false
        }
    }

    /// Applies a comparison; false whenever either side is missing, and for orderings of non-numbers.
    static func compare(_ lhs: FilterRuntimeValue, _ comparison: FilterComparison, _ rhs: FilterRuntimeValue) -> Bool {
        if case .missing = lhs { return false }
        if case .missing = rhs { return false }
        switch comparison {
        case .equal: return equal(lhs, rhs)
        case .notEqual: return !equal(lhs, rhs)
        default:
            switch (lhs.category, rhs.category) {
            case (.number, .number), (.number, .text), (.text, .number):
                guard let order = compareNumbers(lhs, rhs) else { return false }
                return comparison.holds(forOrder: order)
            default:
                return false
            }
        }
    }

    /// The order of two numbers (either may be numeric text); `nil` when one is not a number.
    private static func compareNumbers(_ lhs: FilterRuntimeValue, _ rhs: FilterRuntimeValue) -> Int? {
        if let literal = rhs.literalNumber { return lhs.compare(toLiteral: literal) }
        if let literal = lhs.literalNumber { return rhs.compare(toLiteral: literal).map { -$0 } }
        guard let left = lhs.bigInt, let right = rhs.bigInt else { return nil }
        return left < right ? -1 : (left == right ? 0 : 1)
    }

    /// The literal number this value is, or stands for (a numeric string literal).
    private var literalNumber: FilterNumber? {
        switch self {
        case .literalNumber(let number): return number
        case .literalText(let text): return text.number
        default: return nil
        }
    }

    /// The sign of `self − literal`; `nil` when `self` is not a number.
    private func compare(toLiteral literal: FilterNumber) -> Int? {
        switch self {
        case .unsigned(let number): return literal.compare(unsigned: number)
        case .decimal(let text), .text(let text): return literal.compare(text: text)
        case .integer(let number): return number < literal.value ? -1 : (number == literal.value ? 0 : 1)
        case .literalNumber, .literalText:
            guard let number = literalNumber else { return nil }
            return number.value < literal.value ? -1 : (number.value == literal.value ? 0 : 1)
        default: return nil
        }
    }

    /// The value as an exact integer, parsing text; the slow path for comparing two event values.
    private var bigInt: BigInt? {
        switch self {
        case .unsigned(let number): return BigInt(number)
        case .integer(let number): return number
        case .literalNumber(let number): return number.value
        case .literalText(let text): return text.number?.value
        case .decimal(let text), .text(let text): return FilterNumber.integer(fromText: text)
        default: return nil
        }
    }

    private static func textEqual(_ lhs: FilterRuntimeValue, _ rhs: FilterRuntimeValue) -> Bool {
        switch (lhs, rhs) {
        case (.literalText(let literal), .text(let text)), (.text(let text), .literalText(let literal)):
            // A non-hex literal can only equal text exactly: text equal to it ignoring case would be hex too.
            return FilterBytes.equal(text, literal.value, foldCase: literal.isHex)
        case (.literalText(let left), .literalText(let right)):
            return FilterBytes.equal(left.value, right.value, foldCase: left.isHex || right.isHex)
        case (.text(let left), .text(let right)):
            return left == right || (FilterBytes.isHex(left) && FilterBytes.equal(left, right, foldCase: true))
        default:
            return false
        }
    }

    /// The text form for `contains`, `starts_with` and `ends_with`, and whether it is `0x` hex.
    private var textForm: (text: String, isHex: Bool)? {
        switch self {
        case .text(let text): return (text, FilterBytes.isHex(text))
        case .literalText(let text): return (text.value, text.isHex)
        case .decimal(let text): return (text, false)
        case .unsigned(let number): return (String(number), false)
        case .integer(let number): return (number.description, false)
        case .literalNumber(let number): return (number.value.description, false)
        default: return nil
        }
    }

    /// Applies a text operator. `contains` on a list tests its elements with `==`. Text comparisons ignore
    /// ASCII case when the left side is `0x` hex. False whenever either side is missing.
    static func apply(_ lhs: FilterRuntimeValue, _ operation: FilterTextOperation, _ rhs: FilterRuntimeValue) -> Bool {
        if case .missing = rhs { return false }
        if case .list(let elements) = lhs {
            return operation == .contains && elements.contains { equal($0, rhs) }
        }
        guard let (text, isHex) = lhs.textForm, let (needle, _) = rhs.textForm else { return false }
        switch operation {
        case .contains: return FilterBytes.contains(text, needle, foldCase: isHex)
        case .startsWith: return FilterBytes.hasPrefix(text, needle, foldCase: isHex)
        case .endsWith: return FilterBytes.hasSuffix(text, needle, foldCase: isHex)
        }
    }
}

extension FilterNode {
    /// Evaluates the node, reading paths through `resolver`.
    func evaluate<Resolver: FilterValueResolver>(_ resolver: Resolver) -> Bool {
        switch self {
        case .all(let nodes):
            for node in nodes where !node.evaluate(resolver) { return false }
            return true
        case .any(let nodes):
            for node in nodes where node.evaluate(resolver) { return true }
            return false
        case .not(let node):
            return !node.evaluate(resolver)
        case .compare(let lhs, let comparison, let rhs):
            let left = lhs.value(resolver)
            if case .missing = left { return false }
            return FilterRuntimeValue.compare(left, comparison, rhs.value(resolver))
        case .membership(let operand, let list):
            return list.contains(operand.value(resolver))
        case .text(let lhs, let operation, let rhs):
            let left = lhs.value(resolver)
            if case .missing = left { return false }
            return FilterRuntimeValue.apply(left, operation, rhs.value(resolver))
        case .truthy(let operand):
            if case .bool(true) = operand.value(resolver) { return true }
            return false
        }
    }
}

extension FilterOperand {
    /// The operand's value: a literal's pre-digested form, or what the resolver reads at the path.
    @inline(__always)
    func value<Resolver: FilterValueResolver>(_ resolver: Resolver) -> FilterRuntimeValue {
        switch self {
        case .path(let reference): return resolver.value(of: reference)
        case .literal(let literal): return literal.runtimeValue
        }
    }
}
