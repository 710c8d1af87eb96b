/// A compiled filter: the tree the evaluator walks.
indirect enum FilterNode: Sendable {
    /// True when every condition is (`and`); evaluated left to right, stopping at the first false.
    case all([FilterNode])
    /// True when any condition is (`or`); evaluated left to right, stopping at the first true.
    case any([FilterNode])
    /// Boolean negation.
    case not(FilterNode)
    /// `lhs op rhs`.
    case compare(FilterOperand, FilterComparison, FilterOperand)
    /// `operand in [literals]`.
    case membership(FilterOperand, FilterMembershipList)
    /// `lhs contains|starts_with|ends_with rhs`.
    case text(FilterOperand, FilterTextOperation, FilterOperand)
    /// A lone operand used as a condition: true only when it is the boolean `true`.
    case truthy(FilterOperand)

    /// The binding strength used to decide where `description` needs parentheses.
    private var precedence: Int {
        switch self {
        case .any: return 1
        case .all: return 2
        default: return 3
        }
    }

    /// The normalized source of this node.
    var description: String {
        switch self {
        case .any(let nodes): return nodes.map { $0.rendered(within: 1) }.joined(separator: " or ")
        case .all(let nodes): return nodes.map { $0.rendered(within: 2) }.joined(separator: " and ")
        case .not(let node): return "not " + node.rendered(within: 3)
        case .compare(let lhs, let comparison, let rhs):
            return "\(lhs.description) \(comparison.rawValue) \(rhs.description)"
        case .membership(let operand, let list): return "\(operand.description) in \(list.description)"
        case .text(let lhs, let operation, let rhs):
            return "\(lhs.description) \(operation.rawValue) \(rhs.description)"
        case .truthy(let operand): return operand.description
        }
    }

    private func rendered(within parent: Int) -> String {
        precedence < parent ? "(" + description + ")" : description
    }

    /// Every path the node reads.
    func collectPaths(into paths: inout Set<FilterPath>) {
        switch self {
        case .all(let nodes), .any(let nodes): for node in nodes { node.collectPaths(into: &paths) }
        case .not(let node): node.collectPaths(into: &paths)
        case .compare(let lhs, _, let rhs), .text(let lhs, _, let rhs):
            lhs.collectPath(into: &paths)
            rhs.collectPath(into: &paths)
        case .membership(let operand, _), .truthy(let operand): operand.collectPath(into: &paths)
        }
    }
}

/// A comparison operator.
enum FilterComparison: String, Sendable {
    case equal = "==", notEqual = "!=", less = "<", lessOrEqual = "<=", greater = ">", greaterOrEqual = ">="

    init?(_ symbol: FilterSymbol) {
        self.init(rawValue: symbol.rawValue)
    }

    /// Whether this is `<`, `<=`, `>` or `>=`, which only numbers support.
    var isOrdering: Bool { self != .equal && self != .notEqual }

    /// Whether an ordering of `sign` (−1, 0, 1 for less, equal, greater) satisfies this operator.
    func holds(forOrder sign: Int) -> Bool {
        switch self {
        case .equal: return sign == 0
        case .notEqual: return sign != 0
        case .less: return sign < 0
        case .lessOrEqual: return sign <= 0
        case .greater: return sign > 0
        case .greaterOrEqual: return sign >= 0
        }
    }
}

/// A text operator.
enum FilterTextOperation: String, Sendable {
    case contains
    case startsWith = "starts_with"
    case endsWith = "ends_with"
}

/// One side of a comparison.
enum FilterOperand: Sendable {
    case path(FilterPathReference)
    case literal(FilterLiteral)

    var description: String {
        switch self {
        case .path(let reference): return reference.path.description
        case .literal(let literal): return literal.description
        }
    }

    func collectPath(into paths: inout Set<FilterPath>) {
        if case .path(let reference) = self { paths.insert(reference.path) }
    }
}

/// A literal value written in the expression, pre-digested for comparison.
enum FilterLiteral: Sendable {
    case number(FilterNumber)
    case text(FilterText)
    case bool(Bool)

    /// The literal as the evaluator sees it.
    var runtimeValue: FilterRuntimeValue {
        switch self {
        case .number(let number): return .literalNumber(number)
        case .text(let text): return .literalText(text)
        case .bool(let flag): return .bool(flag)
        }
    }

    var description: String {
        switch self {
        case .number(let number): return number.value.description
        case .text(let text): return text.isBare ? text.value : Self.quoted(text.value)
        case .bool(let flag): return String(flag)
        }
    }

    /// `text` in double quotes with `\`, `"` and control characters escaped.
    static func quoted(_ text: String) -> String {
        var result = "\""
        for character in text {
            switch character {
            case "\\": result += "\\\\"
            case "\"": result += "\\\""
            case "\n": result += "\\n"
            case "\t": result += "\\t"
            case "\r": result += "\\r"
            default: result.append(character)
            }
        }
        return result + "\""
    }
}

/// The literals after `in`, with text keys hashed for fast lookups in long lists of addresses.
struct FilterMembershipList: Sendable {
    /// The literals in source order.
    let literals: [FilterLiteral]
    /// Membership keys of the text literals (lowercased when hex).
    private let textKeys: Set<String>
    /// The literals that are not text: numbers and booleans.
    private let otherValues: [FilterRuntimeValue]
    /// Every literal's runtime value.
    private let values: [FilterRuntimeValue]

    init(_ literals: [FilterLiteral]) {
        self.literals = literals
        var textKeys = Set<String>()
        var otherValues: [FilterRuntimeValue] = []
        for literal in literals {
            if case .text(let text) = literal {
                textKeys.insert(text.membershipKey)
            } else {
                otherValues.append(literal.runtimeValue)
            }
        }
        self.textKeys = textKeys
        self.otherValues = otherValues
        self.values = literals.map(\.runtimeValue)
    }

    /// Whether `value` equals any literal, with the same rules as `==`.
    func contains(_ value: FilterRuntimeValue) -> Bool {
        switch value {
        case .missing:
            return false
        case .text(let text):
            if !textKeys.isEmpty {
                let key = FilterBytes.isHex(text) ? FilterBytes.asciiLowercased(text) : text
                if textKeys.contains(key) { return true }
            }
            return otherValues.contains { FilterRuntimeValue.equal(value, $0) }
        default:
            return values.contains { FilterRuntimeValue.equal(value, $0) }
        }
    }

    var description: String { "[" + literals.map(\.description).joined(separator: ", ") + "]" }
}
