/// An error from compiling a filter expression: what was wrong, where, and what was expected.
///
/// Positions are **0-based character offsets** into the expression source (one `Character`, that is one
/// grapheme cluster, per step). A position equal to the source length means "at the end of the input".
///
/// - Note: Stands in for the Processor module's `ProcessorError` until that type exists; its shape
///   (an extensible `Code`, a human `reason` and the raising source location) follows the house style.
public struct FilterError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What kind of failure this is; extensible.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Value: Hashable, Sendable {
            case syntax, unknownPath, typeMismatch, invalidNumber, invalidValue, nestingTooDeep
        }
        private let value: Value
        private init(_ value: Value) { self.value = value }

        /// The text does not follow the grammar: an unexpected token, an unterminated string, unbalanced parentheses.
        public static let syntax = Code(.syntax)
        /// A path names a root or field the language does not know, for example `foo.bar` or `block.height`.
        public static let unknownPath = Code(.unknownPath)
        /// The operands can never be compared that way, for example `removed > 1` or `block.number == "abc"`.
        public static let typeMismatch = Code(.typeMismatch)
        /// A number literal is malformed, not an integer, or outside the 256-bit range (−2²⁵⁵ … 2²⁵⁶−1).
        public static let invalidNumber = Code(.invalidNumber)
        /// A literal can never match the field it is compared with, for example `status == "final"`.
        public static let invalidValue = Code(.invalidValue)
        /// Parentheses or `not` nest deeper than ``FilterExpression/maximumNestingDepth``.
        public static let nestingTooDeep = Code(.nestingTooDeep)

        /// The code's name, for example `syntax`.
        public var description: String { String(describing: value) }
    }

    /// The kind of failure.
    public var code: Code
    /// What was wrong, including the position, for example `expected a value at position 13, found end of input`.
    public var reason: String
    /// The 0-based character offset in ``source`` where the problem was found.
    public var position: Int
    /// What the compiler would have accepted at ``position``, for example `["a path", "a number", …]`;
    /// empty when the error is not about a missing token.
    public var expected: [String]
    /// The expression that failed to compile.
    public var source: String
    /// Where the error was raised.
    public var file: String
    /// Where the error was raised.
    public var line: Int

    /// Creates an error.
    ///
    /// - Parameters:
    ///   - code: The kind of failure.
    ///   - reason: What was wrong; should mention the position.
    ///   - position: The 0-based character offset of the problem.
    ///   - expected: What would have been accepted at `position`.
    ///   - source: The expression being compiled.
    public init(
        _ code: Code, _ reason: String, position: Int, expected: [String] = [], source: String = "",
        file: String = #fileID, line: Int = #line
    ) {
        self.code = code
        self.reason = reason
        self.position = position
        self.expected = expected
        self.source = source
        self.file = file
        self.line = line
    }

    /// The ``reason``.
    public var description: String { reason }

    /// The source on one line and a caret under ``position``, followed by the reason.
    ///
    /// ```
    /// args.value >
    ///              ^ expected a value at position 13, found end of input
    /// ```
    /// Line breaks in the source are shown as spaces so the caret lines up.
    public var diagnostic: String {
        let line = String(source.map { $0.isNewline ? " " : $0 })
        let caret = String(repeating: " ", count: max(0, position)) + "^ " + reason
        return line + "\n" + caret
    }

    /// Errors compare by what they say, not by where they were raised.
    public static func == (lhs: FilterError, rhs: FilterError) -> Bool {
        lhs.code == rhs.code && lhs.reason == rhs.reason && lhs.position == rhs.position
            && lhs.expected == rhs.expected && lhs.source == rhs.source
    }

    /// Hashes what the error says.
    public func hash(into hasher: inout Hasher) {
        hasher.combine(code)
        hasher.combine(reason)
        hasher.combine(position)
    }
}
