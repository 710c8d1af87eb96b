import BigInt

/// An integer literal, pre-digested at compile time so that comparing it with event text needs no allocation.
///
/// Decoded integers arrive as decimal text; rather than parsing that text into a `BigInt` on every event,
/// the literal keeps its canonical decimal and hex digits and compares digit strings directly.
struct FilterNumber: Sendable, Hashable {
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
    init?(text: String) {
        let bytes = Array(text.utf8)
        if FilterBytes.isHex(bytes[...]) {
            guard bytes.count > 2, let magnitude = BigUInt(String(decoding: bytes[2...], as: UTF8.self), radix: 16)
            else { return nil }
            self.init(BigInt(magnitude))
        } else {
            let digits = bytes.first == UInt8(ascii: "-") ? bytes[1...] : bytes[...]
            guard !digits.isEmpty, digits.allSatisfy(FilterBytes.isDigit), let value = BigInt(text, radix: 10)
            else { return nil }
            self.init(value)
        }
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
        var text = text
        return text.withUTF8 { compare(bytes: $0) }
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

/// A string or hex literal with its comparison facts worked out at compile time.
struct FilterText: Sendable, Hashable {
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
        let isHex = FilterBytes.isHex(Array(value.utf8)[...])
        self.value = isBare ? FilterBytes.asciiLowercased(value) : value
        self.isHex = isHex
        self.isBare = isBare
        self.number = FilterNumber(text: value)
        self.membershipKey = isHex ? FilterBytes.asciiLowercased(value) : value
    }
}

/// Byte-level text helpers shared by the lexer and the evaluator; ASCII only, no allocation on the hot path.
enum FilterBytes {
    static func isDigit(_ byte: UInt8) -> Bool { byte >= 0x30 && byte <= 0x39 }

    static func isHexDigit(_ byte: UInt8) -> Bool {
        isDigit(byte) || (byte | 0x20 >= UInt8(ascii: "a") && byte | 0x20 <= UInt8(ascii: "f"))
    }

    static func lowercased(_ byte: UInt8) -> UInt8 {
        byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte | 0x20 : byte
    }

    /// Whether the bytes are `0x` (or `0X`) followed by zero or more hex digits.
    static func isHex<Bytes: Collection<UInt8>>(_ bytes: Bytes) -> Bool {
        var iterator = bytes.makeIterator()
        guard iterator.next() == UInt8(ascii: "0"), let marker = iterator.next(), marker | 0x20 == UInt8(ascii: "x")
        else { return false }
        while let byte = iterator.next() {
            if !isHexDigit(byte) { return false }
        }
        return true
    }

    static func isHex(_ text: String) -> Bool { isHex(text.utf8) }

    /// `text` with ASCII letters lowercased; other characters unchanged.
    static func asciiLowercased(_ text: String) -> String {
        guard text.utf8.contains(where: { $0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z") }) else { return text }
        return String(decoding: text.utf8.map(lowercased), as: UTF8.self)
    }

    /// Byte-wise equality, optionally ignoring ASCII case.
    static func equal(_ lhs: String, _ rhs: String, foldCase: Bool) -> Bool {
        guard foldCase else { return lhs == rhs }
        guard lhs.utf8.count == rhs.utf8.count else { return false }
        return lhs.utf8.elementsEqual(rhs.utf8) { lowercased($0) == lowercased($1) }
    }

    /// Whether `text` starts with `prefix`, optionally ignoring ASCII case.
    static func hasPrefix(_ text: String, _ prefix: String, foldCase: Bool) -> Bool {
        let text = text.utf8
        let prefix = prefix.utf8
        guard prefix.count <= text.count else { return false }
        return text.prefix(prefix.count).elementsEqual(prefix) { match($0, $1, foldCase) }
    }

    /// Whether `text` ends with `suffix`, optionally ignoring ASCII case.
    static func hasSuffix(_ text: String, _ suffix: String, foldCase: Bool) -> Bool {
        let text = text.utf8
        let suffix = suffix.utf8
        guard suffix.count <= text.count else { return false }
        return text.suffix(suffix.count).elementsEqual(suffix) { match($0, $1, foldCase) }
    }

    /// Whether `text` contains `needle`, optionally ignoring ASCII case.
    static func contains(_ text: String, _ needle: String, foldCase: Bool) -> Bool {
        let haystack = Array(text.utf8)
        let needle = Array(needle.utf8)
        guard !needle.isEmpty else { return true }
        guard needle.count <= haystack.count else { return false }
        for start in 0...(haystack.count - needle.count) {
            var offset = 0
            while offset < needle.count, match(haystack[start + offset], needle[offset], foldCase) { offset += 1 }
            if offset == needle.count { return true }
        }
        return false
    }

    private static func match(_ lhs: UInt8, _ rhs: UInt8, _ foldCase: Bool) -> Bool {
        foldCase ? lowercased(lhs) == lowercased(rhs) : lhs == rhs
    }
}
