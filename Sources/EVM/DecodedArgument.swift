/// One decoded event parameter.
public struct DecodedArgument: Sendable, Hashable {
    /// The parameter name (`arg0`, `arg1`… when the ABI has none).
    public let name: String
    /// The parameter type.
    public let type: ABIType
    /// Whether the parameter came from a topic.
    public let isIndexed: Bool
    /// Whether ``value`` is the 32-byte keccak-256 topic of an indexed `string`, `bytes`, array
    /// or tuple (a ``ABIValue/fixedBytes(_:)``) rather than the value itself, which a log
    /// cannot give back.
    public let isHashed: Bool
    /// The decoded value.
    public let value: ABIValue

    /// Creates a decoded argument.
    /// - Parameters:
    ///   - name: The parameter name.
    ///   - type: The parameter type.
    ///   - isIndexed: Whether it came from a topic.
    ///   - isHashed: Whether `value` is the topic hash of a dynamic or aggregate value.
    ///   - value: The value.
    public init(name: String, type: ABIType, isIndexed: Bool, isHashed: Bool, value: ABIValue) {
        self.name = name
        self.type = type
        self.isIndexed = isIndexed
        self.isHashed = isHashed
        self.value = value
    }

    /// Renders arguments as one JSON object `{"name": value, …}` in parameter order, values as
    /// in ``ABIValue/jsonText(checksummedAddresses:)``.
    ///
    /// - Parameters:
    ///   - arguments: The decoded arguments.
    ///   - checksummedAddresses: Whether addresses use the EIP-55 form. Default: `false`.
    public static func jsonObjectText(_ arguments: [DecodedArgument], checksummedAddresses: Bool = false) -> String {
        var out = "{"
        for (index, argument) in arguments.enumerated() {
            if index > 0 { out += "," }
            ABIValue.appendJSONString(argument.name, to: &out)
            out += ":"
            argument.value.appendJSON(to: &out, checksummedAddresses: checksummedAddresses)
        }
        return out + "}"
    }
}
