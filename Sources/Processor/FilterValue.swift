import BigInt

/// A value a filter reads from a ``FilterContext``.
///
/// The canonical event is read directly (see ``FilterExpression/evaluate(_:)-(Tributary_V1_CanonicalEvent)``);
/// other callers and tests describe their data with these values.
public enum FilterValue: Sendable, Hashable, CustomStringConvertible {
    /// `true` or `false`.
    case bool(Bool)
    /// An exact integer; compared numerically with numbers and with decimal or `0x` hex text.
    case integer(BigInt)
    /// Text: names, hashes, addresses (compared case-insensitively when both sides are `0x` hex).
    case string(String)
    /// An ordered list, for example an array or tuple argument.
    case list([FilterValue])

    /// The value as the filter language writes it: `true`, `42`, `"text"`, `[1, 2]`.
    public var description: String {
        switch self {
        case .bool(let value): return String(value)
        case .integer(let value): return value.description
        case .string(let value): return FilterLiteral.quoted(value)
        case .list(let values): return "[" + values.map(\.description).joined(separator: ", ") + "]"
        }
    }
}

extension FilterValue: ExpressibleByBooleanLiteral, ExpressibleByIntegerLiteral, ExpressibleByStringLiteral,
    ExpressibleByArrayLiteral
{
    /// Creates a boolean value.
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    /// Creates an integer value.
    public init(integerLiteral value: Int) { self = .integer(BigInt(value)) }
    /// Creates a text value.
    public init(stringLiteral value: String) { self = .string(value) }
    /// Creates a list value.
    public init(arrayLiteral elements: FilterValue...) { self = .list(elements) }
}

/// A dotted path into an event, such as `args.value`, `block.number` or `topics.0`.
public struct FilterPath: Sendable, Hashable, CustomStringConvertible {
    /// The path's parts: `["args", "value"]` for `args.value`.
    public let components: [String]
    /// The dotted form, `args.value`.
    public let description: String

    /// Creates a path from its parts.
    public init(_ components: [String]) {
        self.components = components
        self.description = components.joined(separator: ".")
    }

    /// The first component: `args`, `event`, `tx`, `block`, `log`, `topics`, `address`, …
    public var root: String { components.first ?? "" }

    /// Whether reading this path needs the event's decoded form (`args.…` and `event.…`).
    public var requiresDecodedEvent: Bool { root == "args" || root == "event" }
}

/// Anything a ``FilterExpression`` can be evaluated against.
///
/// Implementations return the value at a path, or `nil` when it is missing; a missing value makes every
/// comparison that reads it false. The canonical event conforms, and so does `[String: FilterValue]`
/// keyed by dotted paths (`["args.value": 5, "address": "0xabc…"]`), which is handy in tests.
public protocol FilterContext {
    /// The value at `path`, or `nil` when this context has none.
    func filterValue(at path: FilterPath) -> FilterValue?
}

extension Dictionary: FilterContext where Key == String, Value == FilterValue {
    /// The value stored under the path's dotted form.
    public func filterValue(at path: FilterPath) -> FilterValue? { self[path.description] }
}

/// Reads operands from a ``FilterContext``.
struct FilterContextResolver<Context: FilterContext>: FilterValueResolver {
    let context: Context

    func value(of path: FilterPathReference) -> FilterRuntimeValue {
        guard let value = context.filterValue(at: path.path) else { return .missing }
        return FilterRuntimeValue(value)
    }
}

extension FilterRuntimeValue {
    /// The runtime form of a context value.
    init(_ value: FilterValue) {
        switch value {
        case .bool(let flag): self = .bool(flag)
        case .integer(let number): self = .integer(number)
        case .string(let text): self = .text(text)
        case .list(let values): self = .list(values.map(FilterRuntimeValue.init))
        }
    }

    /// The public form of this value; `nil` when missing.
    var publicValue: FilterValue? {
        switch self {
        case .missing: return nil
        case .bool(let flag): return .bool(flag)
        case .unsigned(let number): return .integer(BigInt(number))
        case .integer(let number): return .integer(number)
        case .literalNumber(let number): return .integer(number.value)
        case .decimal(let text): return BigInt(text, radix: 10).map(FilterValue.integer) ?? .string(text)
        case .text(let text): return .string(text)
        case .literalText(let text): return .string(text.value)
        case .list(let values): return .list(values.map { $0.publicValue ?? .list([]) })
        }
    }
}
