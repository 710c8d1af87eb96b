/// An error from the model layer: records that cannot be read or built.
public struct ModelError: Error, Sendable, CustomStringConvertible {
    /// What kind of failure this is; extensible.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }
        /// A record value does not parse as the message its topic carries.
        public static let malformedRecord = Code("malformedRecord")
        /// A value (chain id, hash, address) has the wrong shape.
        public static let invalidValue = Code("invalidValue")
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
