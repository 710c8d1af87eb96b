/// An error from the processor or router, with a reason a user can act on.
public struct ProcessorError: Error, Sendable, CustomStringConvertible {
    /// What kind of failure this is; extensible.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }
        /// A raw record is malformed or inconsistent.
        public static let invalidRecord = Code("invalidRecord")
        /// A trigger definition is invalid.
        public static let invalidTrigger = Code("invalidTrigger")
        public var description: String { name }
    }

    /// The kind of failure.
    public var code: Code
    /// What was wrong.
    public var reason: String
    /// Where the error was raised.
    public var file: String
    /// Where the error was raised.
    public var line: Int

    /// Creates an error.
    public init(_ code: Code, _ reason: String, file: String = #fileID, line: Int = #line) {
        self.code = code
        self.reason = reason
        self.file = file
        self.line = line
    }

    public var description: String { reason }
}
