import BigInt

/// A decoded (or to-be-encoded) ABI value.
///
/// Rendering for JSON output follows one rule set everywhere (``jsonText(checksummedAddresses:)``,
/// ``jsonObject(checksummedAddresses:)``, ``displayString``):
/// - integers as exact decimal strings (`"109000000000000000000"`, `"-5"`) — never JSON numbers,
///   which lose precision above 2^53;
/// - addresses as lowercase `0x` hex (EIP-55 on request);
/// - `bytes` and `bytesN` as lowercase `0x` hex;
/// - `bool` as JSON `true`/`false`; `string` as a JSON string;
/// - arrays and tuples as JSON arrays (tuples positionally, in component order).
public indirect enum ABIValue: Sendable, Hashable, CustomStringConvertible {
    /// An `address`.
    case address(EthereumAddress)
    /// A `bool`.
    case bool(Bool)
    /// A `uintN`.
    case uint(BigUInt)
    /// An `intN`.
    case int(BigInt)
    /// A `bytesN` (N bytes; also the 32-byte topic of a hashed indexed parameter).
    case fixedBytes([UInt8])
    /// A dynamic `bytes`.
    case bytes([UInt8])
    /// A `string`.
    case string(String)
    /// A `T[]` or `T[k]`.
    case array([ABIValue])
    /// A tuple, members in component order.
    case tuple([ABIValue])

    /// A plain-text rendering: decimal integers, lowercase hex addresses and bytes, `true` /
    /// `false`, the raw string, and JSON text for arrays and tuples.
    public var displayString: String {
        switch self {
        case .address(let address): address.lowercaseHex
        case .bool(let value): value ? "true" : "false"
        case .uint(let value): String(value)
        case .int(let value): String(value)
        case .fixedBytes(let bytes), .bytes(let bytes): Hex.encode(bytes)
        case .string(let text): text
        case .array, .tuple: jsonText()
        }
    }

    /// The ``displayString``.
    public var description: String { displayString }

    /// Renders the value as JSON text (see the type's rules).
    ///
    /// - Parameter checksummedAddresses: Whether addresses use the EIP-55 form. Default: `false`
    ///   (lowercase).
    /// - Returns: E.g. `"123"` (with quotes), `true`, `["0xab…","7"]`.
    public func jsonText(checksummedAddresses: Bool = false) -> String {
        var out = ""
        appendJSON(to: &out, checksummedAddresses: checksummedAddresses)
        return out
    }

    /// Renders the value as Foundation-style JSON objects: `String`, `Bool` or `[Any]`, ready
    /// for `JSONSerialization` or a protobuf `Struct`.
    ///
    /// - Parameter checksummedAddresses: Whether addresses use the EIP-55 form. Default: `false`.
    public func jsonObject(checksummedAddresses: Bool = false) -> Any {
        switch self {
        case .address(let address): checksummedAddresses ? address.checksummed : address.lowercaseHex
        case .bool(let value): value
        case .array(let values), .tuple(let values):
            values.map { $0.jsonObject(checksummedAddresses: checksummedAddresses) }
        default: displayString
        }
    }

    func appendJSON(to out: inout String, checksummedAddresses: Bool) {
        switch self {
        case .address(let address):
            out += "\"" + (checksummedAddresses ? address.checksummed : address.lowercaseHex) + "\""
        case .bool(let value):
            out += value ? "true" : "false"
        case .string(let text):
            Self.appendJSONString(text, to: &out)
        case .array(let values), .tuple(let values):
            out += "["
            for (index, value) in values.enumerated() {
                if index > 0 { out += "," }
                value.appendJSON(to: &out, checksummedAddresses: checksummedAddresses)
            }
            out += "]"
        default:
            out += "\"" + displayString + "\""
        }
    }

    /// Appends `text` as a quoted JSON string with `"`, `\` and control characters escaped.
    static func appendJSONString(_ text: String, to out: inout String) {
        out += "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        out += "\""
    }
}
