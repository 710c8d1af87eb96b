/// A small recursive-descent parser for Solidity type strings and human-readable event
/// signatures such as `event Transfer(address indexed from, address indexed to, uint256 value)`.
struct SignatureParser {
    private let text: String
    private let bytes: [UInt8]
    private let code: EVMError.Code
    private(set) var position = 0

    init(_ text: String, code: EVMError.Code) {
        self.text = text
        self.bytes = Array(text.utf8)
        self.code = code
    }

    var isAtEnd: Bool { position >= bytes.count }

    func error(_ message: String) -> EVMError {
        EVMError(code, "\(message) at position \(position) in \(Hex.preview(text))", offset: position)
    }

    mutating func skipSpaces() {
        while position < bytes.count,
            bytes[position] == 0x20 || bytes[position] == 0x09 || bytes[position] == 0x0A
                || bytes[position] == 0x0D
        {
            position += 1
        }
    }

    private func peek() -> UInt8? { position < bytes.count ? bytes[position] : nil }

    /// Consumes `character` (after spaces) if it is next.
    mutating func consume(_ character: Character) -> Bool {
        skipSpaces()
        guard let ascii = character.asciiValue, peek() == ascii else { return false }
        position += 1
        return true
    }

    mutating func expect(_ character: Character) throws {
        guard consume(character) else { throw error("expected '\(character)'") }
    }

    private static func isIdentifierByte(_ byte: UInt8) -> Bool {
        (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
            || byte == 0x5F || byte == 0x24
    }

    /// Reads an identifier (`[A-Za-z0-9_$]+`) after spaces, or returns `nil`.
    mutating func identifier() -> String? {
        skipSpaces()
        let start = position
        while let byte = peek(), Self.isIdentifierByte(byte) { position += 1 }
        guard position > start else { return nil }
        return String(decoding: bytes[start..<position], as: UTF8.self)
    }

    /// Reads an identifier without consuming it.
    mutating func peekIdentifier() -> String? {
        let saved = position
        defer { position = saved }
        return identifier()
    }

    /// Parses a type: an elementary name, `tuple(...)`, `(...)` or bare `tuple` (with
    /// `bareTupleComponents`), followed by any number of `[]` / `[k]` suffixes.
    mutating func parseType(depth: Int, bareTupleComponents: [ABIType.Component]? = nil) throws -> ABIType {
        guard depth <= ABIType.maximumNestingDepth else {
            throw error("type nests deeper than \(ABIType.maximumNestingDepth) levels")
        }
        skipSpaces()
        var type: ABIType
        if peek() == UInt8(ascii: "(") {
            type = .tuple(try parseTupleComponents(depth: depth + 1))
        } else {
            let start = position
            guard let name = identifier() else { throw error("expected a type") }
            if name == "tuple" {
                skipSpaces()
                if peek() == UInt8(ascii: "(") {
                    type = .tuple(try parseTupleComponents(depth: depth + 1))
                } else if let components = bareTupleComponents {
                    guard !components.isEmpty else { throw error("tuple type has no components") }
                    type = .tuple(components)
                } else {
                    throw error("type 'tuple' needs components")
                }
            } else {
                let parsed: ABIType?
                do {
                    parsed = try ABIType.elementary(name)
                } catch let failure as EVMError {
                    position = start
                    throw error(failure.reason)
                }
                guard let parsed else {
                    position = start
                    throw error("unknown type '\(name)'")
                }
                type = parsed
            }
        }
        var suffixes = 0
        while true {
            skipSpaces()
            guard peek() == UInt8(ascii: "[") else { break }
            position += 1
            suffixes += 1
            guard depth + suffixes <= ABIType.maximumNestingDepth else {
                throw error("type nests deeper than \(ABIType.maximumNestingDepth) levels")
            }
            skipSpaces()
            if peek() == UInt8(ascii: "]") {
                position += 1
                type = .array(type)
                continue
            }
            let start = position
            while let byte = peek(), byte >= 0x30 && byte <= 0x39 { position += 1 }
            let digits = String(decoding: bytes[start..<position], as: UTF8.self)
            guard !digits.isEmpty, digits.count <= 9, let count = Int(digits), count >= 1 else {
                throw error("array length must be a positive number below 10^9")
            }
            try expect("]")
            type = .fixedArray(type, count: count)
        }
        return type
    }

    /// Parses `( type [name], ... )` with the opening parenthesis next.
    mutating func parseTupleComponents(depth: Int) throws -> [ABIType.Component] {
        try expect("(")
        if consume(")") { throw error("a tuple needs at least one component") }
        var components: [ABIType.Component] = []
        repeat {
            let type = try parseType(depth: depth)
            let name = identifier() ?? ""
            components.append(ABIType.Component(name: name, type: type))
        } while consume(",")
        try expect(")")
        return components
    }
}
