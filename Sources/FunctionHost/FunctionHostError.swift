/// An error from the function host, with a reason a user can act on.
public struct FunctionHostError: Error, Sendable, CustomStringConvertible {
    /// What kind of failure this is; extensible.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }
        /// The module cannot be deployed: not WebAssembly, missing or mistyped exports, imports
        /// the host does not offer, or more memory than allowed.
        public static let invalidModule = Code("invalidModule")
        /// A limit in the manifest is above the operator's maximum.
        public static let limitTooHigh = Code("limitTooHigh")
        public var description: String { name }
    }

    /// The kind of failure.
    public var code: Code
    /// What went wrong.
    public var reason: String

    /// Creates an error.
    public init(_ code: Code, _ reason: String) {
        self.code = code
        self.reason = reason
    }

    public var description: String { reason }
}
