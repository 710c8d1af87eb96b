/// Small JSON writing helpers for hot paths where a generic JSON writer costs too much (each
/// function input, each stream message).
public enum JSONText {
    /// Appends `text` as a JSON string: quotes, backslashes and control characters escaped.
    public static func appendString(_ text: String, to json: inout [UInt8]) {
        json.append(UInt8(ascii: "\""))
        appendRuns(of: text, to: &json) { byte in
            byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\")
        } escape: { bytes, index, json in
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"): json += [UInt8(ascii: "\\"), byte]
            case UInt8(ascii: "\n"): json += [UInt8(ascii: "\\"), UInt8(ascii: "n")]
            case UInt8(ascii: "\r"): json += [UInt8(ascii: "\\"), UInt8(ascii: "r")]
            case UInt8(ascii: "\t"): json += [UInt8(ascii: "\\"), UInt8(ascii: "t")]
            default:
                json += [
                    UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"),
                    hexDigits[Int(byte >> 4)], hexDigits[Int(byte & 0xF)],
                ]
            }
            return 1
        }
        json.append(UInt8(ascii: "\""))
    }

    /// Appends `value` in decimal without making a `String` (these writers run per record).
    public static func appendDecimal(_ value: UInt64, to json: inout [UInt8]) {
        var digits = 1
        var rest = value / 10
        while rest > 0 {
            digits += 1
            rest /= 10
        }
        let end = json.count + digits
        json.append(contentsOf: repeatElement(UInt8(ascii: "0"), count: digits))
        var remaining = value
        var index = end - 1
        while remaining > 0 {
            json[index] = UInt8(ascii: "0") + UInt8(remaining % 10)
            remaining /= 10
            index -= 1
        }
    }

    /// Appends `value` in decimal, with a minus sign when negative.
    public static func appendDecimal(_ value: Int64, to json: inout [UInt8]) {
        if value < 0 { json.append(UInt8(ascii: "-")) }
        appendDecimal(value.magnitude, to: &json)
    }

    /// Appends `text`'s UTF-8 to `json`: runs of bytes that need no escaping are copied at once;
    /// at a byte for which `needsEscape` holds, `escape` writes what stands for it and returns
    /// how many bytes it consumed (at least 1).
    static func appendRuns(
        of text: String, to json: inout [UInt8], needsEscape: (UInt8) -> Bool,
        escape: (UnsafeBufferPointer<UInt8>, Int, inout [UInt8]) -> Int
    ) {
        var text = text
        text.withUTF8 { bytes in
            var runStart = 0
            var index = 0
            while index < bytes.count {
                guard needsEscape(bytes[index]) else {
                    index += 1
                    continue
                }
                json.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart..<index]))
                index += escape(bytes, index, &json)
                runStart = index
            }
            json.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart..<bytes.count]))
        }
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)
}
