/// The one error type of the `EVM` module.
///
/// Every failure to parse or decode Ethereum data — hex, addresses, ABI JSON, type strings,
/// event signatures and log payloads — is reported as an `EVMError`. The ``code`` says what
/// kind of problem it was (match on it), the ``reason`` says in words what was wrong and where
/// (the field, the character position or the byte offset), and ``offset`` carries that byte
/// offset when there is one. The source location records where in this module the error was
/// raised, for bug reports.
public struct EVMError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The kind of failure; an extensible set of static values.
    ///
    /// Compare with `==` or match with `case`; new codes may be added in later versions, so
    /// `switch` statements over codes should have a `default`.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let name: String

        private init(_ name: String) { self.name = name }

        /// A textual name of the code, e.g. `"invalidHex"`.
        public var description: String { name }

        /// A hex string had no `0x` prefix, an odd number of digits or a non-hex character.
        public static let invalidHex = Code("invalidHex")
        /// An address was not 20 bytes, or its mixed-case spelling failed the EIP-55 checksum.
        public static let invalidAddress = Code("invalidAddress")
        /// A Solidity type string (e.g. `uint7`, `bytes33`, `foo[]`) is not a valid ABI type.
        public static let invalidType = Code("invalidType")
        /// A JSON ABI document is not valid JSON or an entry is missing or mistypes a field.
        public static let invalidABI = Code("invalidABI")
        /// A human-readable event signature could not be parsed.
        public static let invalidSignature = Code("invalidSignature")
        /// A log's topic0 is not the event's signature hash.
        public static let signatureMismatch = Code("signatureMismatch")
        /// A log has a different number of topics than the event definition requires.
        public static let topicCountMismatch = Code("topicCountMismatch")
        /// A topic is not exactly 32 bytes.
        public static let invalidTopic = Code("invalidTopic")
        /// The log data ends before a value that the event definition requires.
        public static let dataTooShort = Code("dataTooShort")
        /// A dynamic value's offset points outside the data or back into the head it belongs to.
        public static let offsetOutOfRange = Code("offsetOutOfRange")
        /// A length (of bytes, a string or an array) does not fit in the remaining data.
        public static let lengthOutOfRange = Code("lengthOutOfRange")
        /// A 32-byte word carries non-zero padding (address, `uintN` < 256, `bytesN`) or is
        /// not a correct sign extension (`intN` < 256).
        public static let invalidPadding = Code("invalidPadding")
        /// The data is longer than the encoding of the event's values (ethereum-etl likewise
        /// refuses an ERC-20 `Transfer` whose data is not exactly 32 bytes).
        public static let trailingData = Code("trailingData")
        /// A `bool` word is neither 0 nor 1.
        public static let invalidBool = Code("invalidBool")
        /// A `string` value is not valid UTF-8.
        public static let invalidUTF8 = Code("invalidUTF8")
        /// Decoding would expand the data beyond a sane bound (overlapping offsets).
        public static let decodingLimitExceeded = Code("decodingLimitExceeded")
        /// A value given to the encoder does not match its ABI type or is out of its range.
        public static let valueMismatch = Code("valueMismatch")
        /// A JSON-RPC response is malformed or inconsistent (the reason names the field).
        public static let invalidResponse = Code("invalidResponse")
    }

    /// What kind of failure this is.
    public let code: Code
    /// A human explanation naming what was wrong (the field, character or byte offset).
    public let reason: String
    /// The byte offset in the decoded data (or character position in text) when known.
    public let offset: Int?
    /// The file in this module that raised the error (`#fileID`).
    public let file: String
    /// The line in ``file`` that raised the error.
    public let line: Int

    /// Creates an error.
    ///
    /// - Parameters:
    ///   - code: The kind of failure.
    ///   - reason: What was wrong, naming the field, position or offset.
    ///   - offset: The byte offset or character position, if any.
    ///   - file: The raising file; leave the default.
    ///   - line: The raising line; leave the default.
    public init(_ code: Code, _ reason: String, offset: Int? = nil, file: String = #fileID, line: Int = #line) {
        self.code = code
        self.reason = reason
        self.offset = offset
        self.file = file
        self.line = line
    }

    /// `"EVMError(code): reason (at offset N) [file:line]"`.
    public var description: String {
        var text = "EVMError(\(code)): \(reason)"
        if let offset { text += " (at offset \(offset))" }
        return text + " [\(file):\(line)]"
    }

    /// The same error with `context` and `": "` put in front of the reason.
    func prefixed(_ context: String) -> EVMError {
        EVMError(code, context + ": " + reason, offset: offset, file: file, line: line)
    }
}
