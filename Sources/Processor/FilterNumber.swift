import BigInt

/// An integer literal, pre-digested at compile time so that comparing it with event text needs no allocation.
///
/// Decoded integers arrive as decimal text; rather than parsing that text into a `BigInt` on every event,
/// the literal keeps its canonical decimal and hex digits and compares digit strings directly.
/// A class so that handing a literal to the evaluator costs one retain.
final class FilterNumber: Sendable {
    /// The exact value, within −2²⁵⁵ … 2²⁵⁶−1.
    let value: BigInt
    /// Whether the value is below zero.
    let isNegative: Bool
    /// The magnitude's decimal digits as ASCII, without leading zeros ("0" for zero).
    let decimalDigits: [UInt8]
    /// The magnitude's lowercase hex digits as ASCII, without leading zeros ("0" for zero).
    let hexDigits: [UInt8]
    /// The value when it fits in `UInt64`.
    let unsigned: UInt64?

    /// The largest accepted literal, 2²⁵⁶−1 (`uint256` max).
    static let maximum: BigInt = (BigInt(1) << 256) - 1
    /// The smallest accepted literal, −2²⁵⁵ (`int256` min).
    static let minimum: BigInt = -(BigInt(1) << 255)

    /// Creates a number; `nil` when `value` is outside the 256-bit range.
    init?(_ value: BigInt) {
        guard value >= Self.minimum, value <= Self.maximum else { return nil }
        self.value = value
        self.isNegative = value.sign == .minus && !value.isZero
        self.decimalDigits = Array(String(value.magnitude, radix: 10).utf8)
        self.hexDigits = Array(String(value.magnitude, radix: 16, uppercase: false).utf8)
        self.unsigned = isNegative ? nil : UInt64(exactly: value)
    }

    /// Parses decimal text (an optional `-` and digits) or `0x` hex text, as found in events.
    /// `nil` when the text is neither or is out of range.
    static func parse(_ text: String) -> FilterNumber? {
        integer(fromText: text).flatMap(FilterNumber.init)
    }

    /// The integer that decimal text (an optional `-` and digits) or `0x` hex text stands for; `nil` for other text.
    static func integer(fromText text: String) -> BigInt? {
        let bytes = Array(text.utf8)
        if FilterBytes.isHex(text) {
            guard bytes.count > 2 else { return nil }
            return BigUInt(String(decoding: bytes[2...], as: UTF8.self), radix: 16).map { BigInt($0) }
        }
        let digits = bytes.first == UInt8(ascii: "-") ? bytes[1...] : bytes[...]
        guard !digits.isEmpty, digits.allSatisfy(FilterBytes.isDigit) else { return nil }
        return BigInt(text, radix: 10)
    }

    /// The sign of `number − self`.
    func compare(unsigned number: UInt64) -> Int {
        if isNegative { return 1 }
        guard let unsigned else { return -1 }
        return number < unsigned ? -1 : (number == unsigned ? 0 : 1)
    }

    /// The sign of `text − self`, where `text` is decimal (optionally negative) or `0x` hex;
    /// `nil` when `text` is not a number.
    func compare(text: String) -> Int? {
        FilterBytes.withBytes(text) { compare(bytes: $0) }
    }

    /// The sign of `bytes − self`; `nil` when `bytes` is not decimal or `0x` hex text.
    private func compare(bytes: UnsafeBufferPointer<UInt8>) -> Int? {
        let count = bytes.count
        guard count > 0 else { return nil }
        if count > 2, bytes[0] == UInt8(ascii: "0"), bytes[1] | 0x20 == UInt8(ascii: "x") {
            var start = 2
            for index in 2..<count where !FilterBytes.isHexDigit(bytes[index]) { return nil }
            while start < count - 1, bytes[start] == UInt8(ascii: "0") { start += 1 }
            if isNegative { return 1 }
            return Self.compareMagnitude(bytes, from: start, with: hexDigits, foldCase: true)
        }
        var start = 0
        var negative = false
        if bytes[0] == UInt8(ascii: "-") {
            negative = true
            start = 1
            guard count > 1 else { return nil }
        }
        for index in start..<count where !FilterBytes.isDigit(bytes[index]) { return nil }
        while start < count - 1, bytes[start] == UInt8(ascii: "0") { start += 1 }
        if count - start == 1, bytes[start] == UInt8(ascii: "0") { negative = false }
        if negative != isNegative { return negative ? -1 : 1 }
        let magnitude = Self.compareMagnitude(bytes, from: start, with: decimalDigits, foldCase: false)
        return negative ? -magnitude : magnitude
    }

    /// Compares the digit run `bytes[start...]` (no leading zeros) with `digits`.
    private static func compareMagnitude(
        _ bytes: UnsafeBufferPointer<UInt8>, from start: Int, with digits: [UInt8], foldCase: Bool
    ) -> Int {
        let length = bytes.count - start
        if length != digits.count { return length < digits.count ? -1 : 1 }
        for offset in 0..<length {
            let byte = foldCase ? FilterBytes.lowercased(bytes[start + offset]) : bytes[start + offset]
            let digit = digits[offset]
            if byte != digit { return byte < digit ? -1 : 1 }
        }
        return 0
    }
}

/// A string or hex literal with its comparison facts worked out at compile time; a class so that handing it
/// to the evaluator costs one retain.
final class FilterText: Sendable {
    /// The text; lowercased when written as a bare `0x…` literal.
    let value: String
    /// Whether the text is `0x` followed by hex digits (compared case-insensitively).
    let isHex: Bool
    /// Whether the literal was written bare (`0xabc`) rather than quoted.
    let isBare: Bool
    /// The number the text stands for when it is decimal or hex, for comparisons with numbers.
    let number: FilterNumber?
    /// The key used for set membership: lowercased when hex, else the text itself.
    let membershipKey: String

    init(_ value: String, isBare: Bool) {
        let isHex = FilterBytes.isHex(value)
        self.value = isBare ? FilterBytes.asciiLowercased(value) : value
        self.isHex = isHex
        self.isBare = isBare
        self.number = FilterNumber.parse(value)
        self.membershipKey = isHex ? FilterBytes.asciiLowercased(value) : value
    }
}

/// Byte-level text helpers shared by the lexer and the evaluator; ASCII only, no allocation on the hot path.
enum FilterBytes {
    static func isDigit(_ byte: UInt8) -> Bool { byte &- 0x30 < 10 }

    static func isHexDigit(_ byte: UInt8) -> Bool {
        isDigit(byte) || (byte | 0x20) &- UInt8(ascii: "a") < 6
    }

    static func lowercased(_ byte: UInt8) -> UInt8 {
        byte &- UInt8(ascii: "A") < 26 ? byte | 0x20 : byte
    }

    /// Runs `body` over the UTF-8 bytes of `text`, in place for native strings.
    @inline(__always)
    static func withBytes<Result>(_ text: String, _ body: (UnsafeBufferPointer<UInt8>) -> Result) -> Result {
        if let result = text.utf8.withContiguousStorageIfAvailable(body) { return result }
        return Array(text.utf8).withUnsafeBufferPointer(body)
    }

    /// Whether the bytes are `0x` (or `0X`) followed by zero or more hex digits.
    static func isHex(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        guard bytes.count >= 2, bytes[0] == UInt8(ascii: "0"), bytes[1] | 0x20 == UInt8(ascii: "x") else {
            return false
        }
        for index in 2..<bytes.count where !isHexDigit(bytes[index]) { return false }
        return true
    }

    static func isHex(_ text: String) -> Bool { withBytes(text) { isHex($0) } }

    /// `text` with ASCII letters lowercased; other characters unchanged. Returns `text` itself when it has no
    /// uppercase ASCII letter, which is the common case for event data.
    static func asciiLowercased(_ text: String) -> String {
        let hasUppercase = withBytes(text) { bytes in bytes.contains { $0 &- UInt8(ascii: "A") < 26 } }
        guard hasUppercase else { return text }
        return String(decoding: text.utf8.map(lowercased), as: UTF8.self)
    }

    /// Byte-wise equality, optionally ignoring ASCII case.
    static func equal(_ lhs: String, _ rhs: String, foldCase: Bool) -> Bool {
        if lhs == rhs { return true }
        guard foldCase else { return false }
        return withBytes(lhs) { left in
            withBytes(rhs) { right in
                left.count == right.count && matches(left, 0, right, foldCase: true)
            }
        }
    }

    /// Whether `text` starts with `prefix`, optionally ignoring ASCII case.
    static func hasPrefix(_ text: String, _ prefix: String, foldCase: Bool) -> Bool {
        withBytes(text) { text in
            withBytes(prefix) { prefix in
                prefix.count <= text.count && matches(text, 0, prefix, foldCase: foldCase)
            }
        }
    }

    /// Whether `text` ends with `suffix`, optionally ignoring ASCII case.
    static func hasSuffix(_ text: String, _ suffix: String, foldCase: Bool) -> Bool {
        withBytes(text) { text in
            withBytes(suffix) { suffix in
                suffix.count <= text.count && matches(text, text.count - suffix.count, suffix, foldCase: foldCase)
            }
        }
    }

    /// Whether `text` contains `needle`, optionally ignoring ASCII case.
    static func contains(_ text: String, _ needle: String, foldCase: Bool) -> Bool {
        withBytes(text) { text in
            withBytes(needle) { needle in
                guard needle.count <= text.count else { return false }
                for start in 0...(text.count - needle.count) where matches(text, start, needle, foldCase: foldCase) {
                    return true
                }
                return false
            }
        }
    }

    /// Whether `needle` occurs in `text` at `start`; the caller ensures it fits.
    private static func matches(
        _ text: UnsafeBufferPointer<UInt8>, _ start: Int, _ needle: UnsafeBufferPointer<UInt8>, foldCase: Bool
    ) -> Bool {
        if foldCase {
            for offset in 0..<needle.count where lowercased(text[start + offset]) != lowercased(needle[offset]) {
                return false
            }
        } else {
            for offset in 0..<needle.count where text[start + offset] != needle[offset] { return false }
        }
        return true
    }
}
