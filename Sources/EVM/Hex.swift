/// Hex encoding and decoding as used by Ethereum JSON-RPC (`0x`-prefixed, lowercase out).
public enum Hex {
    /// Decodes a hex string into bytes.
    ///
    /// Accepts upper- and lowercase digits. `"0x"` decodes to no bytes.
    /// - Parameters:
    ///   - text: The hex text, e.g. `"0xdeadbeef"`.
    ///   - requirePrefix: Whether the `0x` (or `0X`) prefix is mandatory. Default: `true`; when
    ///     `false` the prefix is optional.
    /// - Returns: The decoded bytes.
    /// - Throws: ``EVMError`` with code ``EVMError/Code/invalidHex`` naming a missing prefix, an
    ///   odd digit count, or the first non-hex character and its position in `text`.
    public static func decode(_ text: some StringProtocol, requirePrefix: Bool = true) throws -> [UInt8] {
        let utf8 = Array(text.utf8)
        var start = 0
        if utf8.count >= 2 && utf8[0] == UInt8(ascii: "0") && (utf8[1] | 0x20) == UInt8(ascii: "x") {
            start = 2
        } else if requirePrefix {
            throw EVMError(.invalidHex, "hex string \(preview(text)) does not start with 0x", offset: 0)
        }
        let digitCount = utf8.count - start
        guard digitCount % 2 == 0 else {
            throw EVMError(
                .invalidHex, "hex string \(preview(text)) has an odd number of digits (\(digitCount))",
                offset: utf8.count)
        }
        var bytes = [UInt8]()
        bytes.reserveCapacity(digitCount / 2)
        var index = start
        while index < utf8.count {
            guard let high = nibble(utf8[index]) else { throw badCharacter(utf8, at: index, in: text) }
            guard let low = nibble(utf8[index + 1]) else { throw badCharacter(utf8, at: index + 1, in: text) }
            bytes.append(high << 4 | low)
            index += 2
        }
        return bytes
    }

    /// Encodes bytes as lowercase hex.
    ///
    /// - Parameters:
    ///   - bytes: The bytes to encode.
    ///   - prefix: Whether to prepend `0x`. Default: `true`.
    /// - Returns: E.g. `"0xdeadbeef"`; `"0x"` for no bytes.
    public static func encode(_ bytes: some Collection<UInt8>, prefix: Bool = true) -> String {
        let digits: [UInt8] = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(bytes.count * 2 + 2)
        if prefix { out.append(contentsOf: [UInt8(ascii: "0"), UInt8(ascii: "x")]) }
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    @inline(__always)
    static func nibble(_ character: UInt8) -> UInt8? {
        switch character {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): character &- UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): character &- UInt8(ascii: "a") &+ 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): character &- UInt8(ascii: "A") &+ 10
        default: nil
        }
    }

    private static func badCharacter(_ utf8: [UInt8], at index: Int, in text: some StringProtocol) -> EVMError {
        let byte = utf8[index]
        let shown =
            byte >= 0x20 && byte < 0x7F
            ? "'\(Character(Unicode.Scalar(byte)))'" : "byte 0x\(String(byte, radix: 16))"
        return EVMError(
            .invalidHex, "hex string \(preview(text)) has non-hex character \(shown) at position \(index)",
            offset: index)
    }

    /// The text quoted and shortened for error messages.
    static func preview(_ text: some StringProtocol) -> String {
        text.count <= 80 ? "\"\(text)\"" : "\"\(text.prefix(77))...\" (\(text.utf8.count) characters)"
    }
}
