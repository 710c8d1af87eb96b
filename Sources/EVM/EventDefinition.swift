/// One parameter of an event.
public struct EventParameter: Sendable, Hashable {
    /// The parameter name; never empty (unnamed parameters become `arg0`, `arg1`…).
    public let name: String
    /// The parameter type.
    public let type: ABIType
    /// Whether the parameter is stored in a topic rather than in the data.
    public let indexed: Bool

    /// Creates a parameter.
    /// - Parameters:
    ///   - name: The name; when empty the event assigns `arg<position>`.
    ///   - type: The type.
    ///   - indexed: Whether it is stored in a topic. Default: `false`.
    public init(name: String, type: ABIType, indexed: Bool = false) {
        self.name = name
        self.type = type
        self.indexed = indexed
    }
}

/// A Solidity event: its name and parameters, canonical signature and topic0.
///
/// Create one from JSON ABI through ``ContractABI``, from a human-readable signature with
/// ``init(parsing:)``, or from parts with ``init(name:parameters:anonymous:)``. Decode logs with
/// ``decode(topics:data:)``.
public struct EventDefinition: Sendable, Hashable, CustomStringConvertible {
    /// The event name, e.g. `Transfer`.
    public let name: String
    /// The parameters in declaration order.
    public let parameters: [EventParameter]
    /// Whether the event is anonymous (no topic0; all topics are indexed parameters).
    public let isAnonymous: Bool
    /// The canonical signature, e.g. `Transfer(address,address,uint256)`.
    public let signature: String
    /// `keccak256(signature)`: the first topic of every non-anonymous log of this event.
    public let topic0: [UInt8]
    /// The number of topics a log of this event has: the indexed parameters plus topic0 unless
    /// anonymous.
    public let topicCount: Int
    /// The types and names of the non-indexed parameters, in order (precomputed for decoding).
    let dataTypes: [ABIType]
    let dataNames: [String]

    /// The most indexed parameters a non-anonymous event may have (an anonymous one may have 4).
    public static let maximumIndexedParameters = 3

    /// Creates an event definition, checking the name, types and indexed count.
    ///
    /// Empty parameter names are replaced by `arg<position>` (`arg0`, `arg1`…).
    /// - Parameters:
    ///   - name: The event name (an identifier).
    ///   - parameters: The parameters in declaration order.
    ///   - anonymous: Whether the event is anonymous. Default: `false`.
    /// - Throws: ``EVMError`` with ``EVMError/Code/invalidType`` for an invalid parameter type or
    ///   ``EVMError/Code/invalidSignature`` for a bad name or too many indexed parameters.
    public init(name: String, parameters: [EventParameter], anonymous: Bool = false) throws {
        guard !name.isEmpty, name.utf8.allSatisfy({ Self.isIdentifierByte($0) }),
            name.utf8.first.map({ !($0 >= 0x30 && $0 <= 0x39) }) ?? false
        else {
            throw EVMError(.invalidSignature, "event name \(Hex.preview(name)) is not an identifier")
        }
        var named: [EventParameter] = []
        named.reserveCapacity(parameters.count)
        for (index, parameter) in parameters.enumerated() {
            do {
                try parameter.type.validate()
            } catch let error as EVMError {
                throw EVMError(
                    error.code, "event \(name) parameter \(index) ('\(parameter.name)'): \(error.reason)",
                    offset: error.offset)
            }
            let parameterName = parameter.name.isEmpty ? "arg\(index)" : parameter.name
            named.append(EventParameter(name: parameterName, type: parameter.type, indexed: parameter.indexed))
        }
        let indexedCount = parameters.count(where: \.indexed)
        let limit = anonymous ? Self.maximumIndexedParameters + 1 : Self.maximumIndexedParameters
        guard indexedCount <= limit else {
            throw EVMError(
                .invalidSignature,
                "event \(name) has \(indexedCount) indexed parameters; at most \(limit) fit in a log's topics")
        }
        self.name = name
        self.parameters = named
        self.isAnonymous = anonymous
        self.signature = name + "(" + parameters.map(\.type.canonicalName).joined(separator: ",") + ")"
        self.topic0 = Keccak256.hash(Array(signature.utf8))
        self.topicCount = indexedCount + (anonymous ? 0 : 1)
        let dataParameters = named.filter { !$0.indexed }
        self.dataTypes = dataParameters.map(\.type)
        self.dataNames = dataParameters.map(\.name)
    }

    /// Parses a human-readable event signature.
    ///
    /// Accepted forms, with optional `event` keyword, parameter names, `indexed` and a trailing
    /// `anonymous`:
    /// - `Transfer(address,address,uint256)`
    /// - `Transfer(address indexed from, address indexed to, uint256 value)`
    /// - `event Foo((uint256 a, address b)[] indexed items, string note) anonymous`
    /// - `Foo(tuple(uint256,address) item)`
    ///
    /// Unnamed parameters become `arg0`, `arg1`… by position.
    /// - Parameter text: The signature.
    /// - Throws: ``EVMError`` with ``EVMError/Code/invalidSignature`` naming the position of the
    ///   problem, or ``EVMError/Code/invalidType`` for an invalid parameter type.
    public init(parsing text: String) throws {
        var parser = SignatureParser(text, code: .invalidSignature)
        guard var name = parser.identifier() else { throw parser.error("expected an event name") }
        if name == "event" {
            guard let actual = parser.identifier() else { throw parser.error("expected an event name") }
            name = actual
        }
        try parser.expect("(")
        var parameters: [EventParameter] = []
        if !parser.consume(")") {
            repeat {
                let type = try parser.parseType(depth: 0)
                var indexed = false
                var parameterName = ""
                if let word = parser.identifier() {
                    if word == "indexed" {
                        indexed = true
                        parameterName = parser.identifier() ?? ""
                    } else {
                        parameterName = word
                    }
                }
                parameters.append(EventParameter(name: parameterName, type: type, indexed: indexed))
            } while parser.consume(",")
            try parser.expect(")")
        }
        var anonymous = false
        if let word = parser.identifier() {
            guard word == "anonymous" else { throw parser.error("unexpected '\(word)' after the parameters") }
            anonymous = true
        }
        _ = parser.consume(";")
        parser.skipSpaces()
        guard parser.isAtEnd else { throw parser.error("unexpected text after the signature") }
        try self.init(name: name, parameters: parameters, anonymous: anonymous)
    }

    /// The signature with `indexed` markers and names, e.g.
    /// `Transfer(address indexed from, address indexed to, uint256 value)`.
    public var humanReadableSignature: String {
        let parameterList = parameters.map { parameter in
            parameter.type.canonicalName + (parameter.indexed ? " indexed " : " ") + parameter.name
        }
        return name + "(" + parameterList.joined(separator: ", ") + ")" + (isAnonymous ? " anonymous" : "")
    }

    /// The ``humanReadableSignature``.
    public var description: String { humanReadableSignature }

    private static func isIdentifierByte(_ byte: UInt8) -> Bool {
        (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
            || byte == 0x5F || byte == 0x24
    }
}
