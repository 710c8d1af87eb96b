import TributaryModel

/// A compiled trigger filter, such as `event.name == "Transfer" and args.value > 1000e18`.
///
/// Compile once with ``compile(_:)`` and evaluate many times with ``evaluate(_:)-(Tributary_V1_CanonicalEvent)``:
/// literals are parsed into exact integers and case-folded text at compile time, paths are resolved to event
/// fields, and evaluation reads the event in place without allocating for the common comparisons.
/// The language is described in docs/filters.md.
///
/// - Important: Evaluation never fails. A path the event lacks is *missing*, and every comparison or
///   operator that reads a missing value is false (including `!=`); `not` then negates that false.
///   Comparisons between values of incompatible kinds are unequal, and orderings of non-numbers are false.
public struct FilterExpression: Sendable, Hashable, CustomStringConvertible {
    /// The deepest nesting of parentheses and `not` that ``compile(_:)`` accepts. Default: 64.
    public static let maximumNestingDepth = 64

    /// The text the expression was compiled from.
    public let source: String
    /// The normalized expression: keywords for operators (`and`, `or`, `not`), canonical numbers, lowercase
    /// bare hex, double-quoted strings and only the parentheses precedence needs. Compiling it gives an
    /// equivalent expression with the same description.
    public let description: String
    /// Every path the expression reads, such as `args.value` and `event.name`.
    public let referencedPaths: Set<FilterPath>
    private let root: FilterNode
    /// Whether any path reads the decoded form, so evaluation fetches it once up front.
    private let readsDecoded: Bool

    /// Compiles an expression.
    ///
    /// - Parameter source: The expression text, for example `args.to in [0xabc…, 0xdef…] and not removed`.
    /// - Returns: The compiled expression, ready to evaluate.
    /// - Throws: ``FilterError`` for the first problem in the text, with its 0-based character position and
    ///   what was expected there: `syntax`, `unknownPath`, `typeMismatch`, `invalidNumber`, `invalidValue`
    ///   or `nestingTooDeep`.
    public static func compile(_ source: String) throws(FilterError) -> FilterExpression {
        var parser = try FilterParser(source)
        return FilterExpression(source: source, root: try parser.parse())
    }

    /// Compiles an expression; the same as ``compile(_:)``.
    ///
    /// - Throws: ``FilterError`` as ``compile(_:)`` does.
    public init(_ source: String) throws(FilterError) {
        self = try Self.compile(source)
    }

    private init(source: String, root: FilterNode) {
        self.source = source
        self.root = root
        self.description = root.description
        var paths = Set<FilterPath>()
        root.collectPaths(into: &paths)
        self.referencedPaths = paths
        self.readsDecoded = paths.contains { $0.requiresDecodedEvent }
    }

    /// Whether the expression reads decoded fields (`args.…` or `event.…`); when it does, it is false for
    /// every event that was not decoded, unless those reads sit under `not`.
    public var requiresDecodedEvent: Bool {
        referencedPaths.contains { $0.requiresDecodedEvent }
    }

    /// Whether `event` matches: the fast path for the router.
    ///
    /// - Parameter event: A canonical event, decoded or not.
    /// - Returns: The expression's value for the event; never fails.
    public func evaluate(_ event: Tributary_V1_CanonicalEvent) -> Bool {
        root.evaluate(FilterEventResolver(event: event, readsDecoded: readsDecoded))
    }

    /// Whether `context` matches, reading each path through ``FilterContext/filterValue(at:)``.
    ///
    /// - Parameter context: Any source of values, for example `["args.value": 5]`.
    /// - Returns: The expression's value for the context; never fails.
    public func evaluate(_ context: some FilterContext) -> Bool {
        root.evaluate(FilterContextResolver(context: context))
    }

    /// Expressions are equal when their normalized descriptions are.
    public static func == (lhs: FilterExpression, rhs: FilterExpression) -> Bool {
        lhs.description == rhs.description
    }

    /// Hashes the normalized description.
    public func hash(into hasher: inout Hasher) {
        hasher.combine(description)
    }
}
