/// A Solidity ABI type.
///
/// Build one from a type string with ``init(parsing:components:)`` (e.g. `"uint256"`,
/// `"(address,uint256)[]"`, or `"tuple[3]"` with JSON `components`), or directly from the cases.
/// Values built from the cases are checked when they become part of an ``EventDefinition``.
public indirect enum ABIType: Sendable, Hashable, CustomStringConvertible {
    /// `address`: 20 bytes, left-padded with zeros in a word.
    case address
    /// `bool`: a word holding 0 or 1.
    case bool
    /// `uintN`, N in 8…256 in steps of 8 (`uint` is `uint256`).
    case uint(bits: Int)
    /// `intN`, N in 8…256 in steps of 8 (`int` is `int256`), two's complement.
    case int(bits: Int)
    /// `bytesN`, N in 1…32, right-padded with zeros in a word.
    case fixedBytes(Int)
    /// `bytes`: dynamic byte string.
    case bytes
    /// `string`: dynamic UTF-8 string.
    case string
    /// `T[]`: dynamic-length array.
    case array(ABIType)
    /// `T[k]`: fixed-length array, k ≥ 1.
    case fixedArray(ABIType, count: Int)
    /// `(T1,T2,…)`: a tuple (Solidity struct); at least one component.
    case tuple([Component])

    /// A named member of a tuple type.
    public struct Component: Sendable, Hashable {
        /// The member name from the ABI (may be empty).
        public var name: String
        /// The member type.
        public var type: ABIType

        /// Creates a tuple member.
        /// - Parameters:
        ///   - name: The member name; may be empty.
        ///   - type: The member type.
        public init(name: String = "", type: ABIType) {
            self.name = name
            self.type = type
        }
    }

    /// The deepest nesting of arrays and tuples accepted. Default: 32.
    public static let maximumNestingDepth = 32
    /// The largest static (in-place) encoding size accepted for one type, in bytes: 16 MiB.
    public static let maximumStaticSize = 1 << 24

    /// `uint256`.
    public static let uint256 = ABIType.uint(bits: 256)
    /// `int256`.
    public static let int256 = ABIType.int(bits: 256)

    /// The canonical type name used in signatures: `uint256`, `bytes32`, `address[]`,
    /// `(uint256,address)[2]`.
    public var canonicalName: String {
        switch self {
        case .address: "address"
        case .bool: "bool"
        case .uint(let bits): "uint\(bits)"
        case .int(let bits): "int\(bits)"
        case .fixedBytes(let count): "bytes\(count)"
        case .bytes: "bytes"
        case .string: "string"
        case .array(let element): element.canonicalName + "[]"
        case .fixedArray(let element, let count): element.canonicalName + "[\(count)]"
        case .tuple(let components): "(" + components.map(\.type.canonicalName).joined(separator: ",") + ")"
        }
    }

    /// The ``canonicalName``.
    public var description: String { canonicalName }

    /// Whether the encoding has a variable size (`bytes`, `string`, `T[]`, or an aggregate of
    /// a dynamic type); dynamic values are reached through an offset in the head.
    public var isDynamic: Bool {
        switch self {
        case .bytes, .string, .array: true
        case .fixedArray(let element, _): element.isDynamic
        case .tuple(let components): components.contains { $0.type.isDynamic }
        default: false
        }
    }

    /// Whether an indexed parameter of this type is stored as the keccak-256 hash of its
    /// encoding rather than as its value: true for `bytes`, `string`, arrays and tuples.
    public var isHashedWhenIndexed: Bool {
        switch self {
        case .bytes, .string, .array, .fixedArray, .tuple: true
        default: false
        }
    }

    /// The number of bytes the type occupies in the head of an enclosing tuple: 32 for dynamic
    /// types, the full in-place size for static ones. Saturates at `Int.max` for invalid types.
    var headSize: Int {
        switch self {
        case .fixedArray(let element, let count) where !isDynamic:
            let (size, overflow) = element.headSize.multipliedReportingOverflow(by: max(count, 0))
            return overflow ? Int.max : size
        case .tuple(let components) where !isDynamic:
            var total = 0
            for component in components {
                let (sum, overflow) = total.addingReportingOverflow(component.type.headSize)
                if overflow { return Int.max }
                total = sum
            }
            return total
        default:
            return 32
        }
    }

    /// Checks the invariants the cases cannot express (bit widths, sizes, nesting depth).
    ///
    /// - Throws: ``EVMError`` with ``EVMError/Code/invalidType``.
    public func validate() throws {
        try validate(depth: 0)
        guard headSize <= Self.maximumStaticSize else {
            throw EVMError(
                .invalidType,
                "type \(canonicalName) has a static size above \(Self.maximumStaticSize) bytes")
        }
    }

    private func validate(depth: Int) throws {
        guard depth <= Self.maximumNestingDepth else {
            throw EVMError(.invalidType, "type nests arrays/tuples deeper than \(Self.maximumNestingDepth) levels")
        }
        switch self {
        case .address, .bool, .bytes, .string:
            return
        case .uint(let bits), .int(let bits):
            guard bits >= 8 && bits <= 256 && bits % 8 == 0 else {
                throw EVMError(.invalidType, "integer width \(bits) is not a multiple of 8 in 8...256")
            }
        case .fixedBytes(let count):
            guard count >= 1 && count <= 32 else {
                throw EVMError(.invalidType, "bytes\(count) is not a valid type; bytesN needs N in 1...32")
            }
        case .array(let element):
            try element.validate(depth: depth + 1)
        case .fixedArray(let element, let count):
            guard count >= 1 else {
                throw EVMError(.invalidType, "fixed array length \(count) must be at least 1")
            }
            try element.validate(depth: depth + 1)
        case .tuple(let components):
            guard !components.isEmpty else {
                throw EVMError(.invalidType, "a tuple needs at least one component")
            }
            for component in components { try component.type.validate(depth: depth + 1) }
        }
    }

    /// Parses a Solidity type string.
    ///
    /// Accepts the elementary types, `int`/`uint` (aliases of the 256-bit types), array
    /// suffixes in any number (`uint8[2][]` is a dynamic array of `uint8[2]`), inline tuples
    /// `(uint256,address)` or `tuple(uint256 amount,address to)`, and `tuple` / `tuple[]` /
    /// `tuple[3]` whose members come from `components` (the JSON ABI form).
    /// - Parameters:
    ///   - text: The type string.
    ///   - components: The members for a bare `tuple` base type, as in JSON ABI; `nil` otherwise.
    /// - Throws: ``EVMError`` with ``EVMError/Code/invalidType`` naming the problem.
    public init(parsing text: String, components: [Component]? = nil) throws {
        var parser = SignatureParser(text, code: .invalidType)
        let type = try parser.parseType(depth: 0, bareTupleComponents: components)
        parser.skipSpaces()
        guard parser.isAtEnd else {
            throw parser.error("unexpected text after the type")
        }
        try type.validate()
        self = type
    }

    /// Parses an elementary type name (no arrays or tuples), or returns `nil` when `name` is
    /// not one (e.g. `tuple` or an identifier).
    static func elementary(_ name: String) throws -> ABIType? {
        switch name {
        case "address": return .address
        case "bool": return .bool
        case "string": return .string
        case "bytes": return .bytes
        case "uint": return .uint(bits: 256)
        case "int": return .int(bits: 256)
        default: break
        }
        for prefix in ["uint", "int", "bytes"] where name.hasPrefix(prefix) {
            let digits = name.dropFirst(prefix.count)
            guard !digits.isEmpty, digits.count <= 3, digits.allSatisfy({ $0.isASCII && $0.isNumber }),
                let size = Int(digits)
            else { return nil }
            guard digits.first != "0" else {
                throw EVMError(.invalidType, "type '\(name)' has a leading zero in its size")
            }
            let type: ABIType =
                switch prefix {
                case "uint": .uint(bits: size)
                case "int": .int(bits: size)
                default: .fixedBytes(size)
                }
            try type.validate()
            return type
        }
        switch name {
        case "function", "fixed", "ufixed":
            throw EVMError(.invalidType, "type '\(name)' is not supported")
        default:
            if name.hasPrefix("fixed") || name.hasPrefix("ufixed") {
                throw EVMError(.invalidType, "fixed-point type '\(name)' is not supported")
            }
            return nil
        }
    }
}
