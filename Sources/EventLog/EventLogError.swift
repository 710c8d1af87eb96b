/// An error from an event log, with a reason a user can act on.
public struct EventLogError: Error, Sendable, CustomStringConvertible {
    /// What kind of failure this is; extensible.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Value: Hashable, Sendable {
            case unknownTopic, invalidArgument, closed, unavailable, corrupt, io, timeout, conflict
        }
        private let value: Value
        private init(_ value: Value) { self.value = value }

        /// The topic does not exist.
        public static let unknownTopic = Code(.unknownTopic)
        /// An argument is out of range or malformed.
        public static let invalidArgument = Code(.invalidArgument)
        /// The log, reader or consumer was closed.
        public static let closed = Code(.closed)
        /// The backing store or broker cannot be reached.
        public static let unavailable = Code(.unavailable)
        /// Stored data cannot be read.
        public static let corrupt = Code(.corrupt)
        /// Reading or writing the backing store failed.
        public static let io = Code(.io)
        /// The operation did not finish in time.
        public static let timeout = Code(.timeout)
        /// The request conflicts with existing state (for example a topic with another partition count).
        public static let conflict = Code(.conflict)

        public var description: String { String(describing: value) }
    }

    /// The kind of failure.
    public var code: Code
    /// What went wrong and, where possible, what to do about it.
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

    /// The topic does not exist.
    public static func unknownTopic(_ topic: String, file: String = #fileID, line: Int = #line) -> EventLogError {
        EventLogError(
            .unknownTopic, "unknown topic '\(topic)': create it first or check the name", file: file, line: line)
    }
}
