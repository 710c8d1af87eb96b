/// An error a command reports to its user: one line saying what was wrong and what to do.
public struct CommandError: Error, Sendable, CustomStringConvertible {
    /// What kind of failure this is; extensible.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }
        /// The configuration is invalid.
        public static let invalidConfiguration = Code("invalidConfiguration")
        /// Command input (stdin, arguments) is invalid.
        public static let invalidInput = Code("invalidInput")
        /// Something the command needs (a child process, a server) is not available.
        public static let unavailable = Code("unavailable")
        public var description: String { name }
    }

    /// The kind of failure.
    public var code: Code
    /// The message shown to the user.
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
