/// An error from the chain adapter or its JSON-RPC client, with a reason a user can act on.
public struct ChainAdapterError: Error, Sendable, CustomStringConvertible {
    /// What kind of failure this is; extensible.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }
        /// HTTP 429 or a rate-limit JSON-RPC error; `retryAfter` says when to come back.
        public static let rateLimited = Code("rateLimited")
        /// `eth_getLogs` would return too many results (`suggestedRange` when the provider says).
        public static let tooManyResults = Code("tooManyResults")
        /// The block range is larger than the provider allows.
        public static let rangeTooLarge = Code("rangeTooLarge")
        /// The node answered with a JSON-RPC error.
        public static let rpcError = Code("rpcError")
        /// The answer is not valid JSON-RPC or not the shape the method returns.
        public static let malformedResponse = Code("malformedResponse")
        /// No answer in time.
        public static let timeout = Code("timeout")
        /// The endpoint cannot be reached or answered with an HTTP error.
        public static let unavailable = Code("unavailable")
        /// A reorg is deeper than the adapter's window: it stops instead of guessing.
        public static let reorgTooDeep = Code("reorgTooDeep")
        /// The endpoints serve another chain than the configured one.
        public static let wrongChain = Code("wrongChain")
        public var description: String { name }
    }

    /// The kind of failure.
    public var code: Code
    /// What went wrong.
    public var reason: String
    /// For `.rateLimited`: how long the endpoint asked us to wait.
    public var retryAfter: Duration?
    /// For `.tooManyResults`: the range the provider suggested.
    public var suggestedRange: ClosedRange<UInt64>?
    /// For `.rpcError`: the JSON-RPC error code.
    public var rpcCode: Int?
    /// Where the error was raised.
    public var file: String
    /// Where the error was raised.
    public var line: Int

    /// Creates an error.
    public init(
        _ code: Code, _ reason: String, retryAfter: Duration? = nil, suggestedRange: ClosedRange<UInt64>? = nil,
        rpcCode: Int? = nil, file: String = #fileID, line: Int = #line
    ) {
        self.code = code
        self.reason = reason
        self.retryAfter = retryAfter
        self.suggestedRange = suggestedRange
        self.rpcCode = rpcCode
        self.file = file
        self.line = line
    }

    public var description: String { reason }

    /// Whether the adapter must stop rather than try again: retrying cannot help and guessing
    /// could produce wrong records.
    public var isFatal: Bool { [.reorgTooDeep, .wrongChain].contains(code) }

    /// Whether another attempt (here or on another endpoint) may succeed.
    public var isTransient: Bool {
        [.rateLimited, .timeout, .unavailable, .malformedResponse].contains(code)
    }
}
