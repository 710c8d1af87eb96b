/// A 20-byte Ethereum account or contract address.
///
/// ``description`` and ``lowercaseHex`` give the canonical lowercase `0x…` form that
/// ethereum-etl and JSON-RPC use; ``checksummed`` gives the EIP-55 mixed-case form.
public struct EthereumAddress: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// The address length in bytes.
    public static let byteCount = 20

    /// The 20 bytes of the address.
    public let bytes: [UInt8]

    /// Creates an address from exactly 20 bytes.
    ///
    /// - Parameter bytes: The address bytes.
    /// - Throws: ``EVMError`` (``EVMError/Code/invalidAddress``) when there are not 20 bytes.
    public init(bytes: some Collection<UInt8>) throws {
        guard bytes.count == Self.byteCount else {
            throw EVMError(.invalidAddress, "an address has 20 bytes, got \(bytes.count)")
        }
        self.bytes = Array(bytes)
    }

    /// Creates an address from the low 20 bytes of a validated 32-byte word (no checks).
    init(uncheckedBytes bytes: ArraySlice<UInt8>) {
        self.bytes = Array(bytes)
    }

    /// Parses `0x` followed by 40 hex digits.
    ///
    /// All-lowercase and all-uppercase digits are accepted as is; a mixed-case spelling must be
    /// a correct EIP-55 checksum, so typos in checksummed addresses are caught.
    /// - Parameter text: The address text.
    /// - Throws: ``EVMError`` with ``EVMError/Code/invalidHex`` for bad hex or
    ///   ``EVMError/Code/invalidAddress`` for a wrong length or a failed checksum.
    public init(_ text: some StringProtocol) throws {
        let bytes = try Hex.decode(text)
        guard bytes.count == Self.byteCount else {
            throw EVMError(
                .invalidAddress, "address \(Hex.preview(text)) has \(bytes.count) bytes, expected 20")
        }
        self.bytes = bytes
        let digits = text.utf8.dropFirst(2)
        let hasLower = digits.contains { $0 >= UInt8(ascii: "a") && $0 <= UInt8(ascii: "f") }
        let hasUpper = digits.contains { $0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "F") }
        if hasLower && hasUpper {
            let expected = checksummed
            guard expected.utf8.elementsEqual(text.utf8) else {
                throw EVMError(
                    .invalidAddress,
                    "address \(Hex.preview(text)) has mixed case but fails the EIP-55 checksum (expected \(expected))"
                )
            }
        }
    }

    /// The lowercase `0x`-prefixed form, e.g. `0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed`.
    public var lowercaseHex: String { Hex.encode(bytes) }

    /// The EIP-55 mixed-case checksum form, e.g. `0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed`.
    ///
    /// A hex letter is uppercased when the corresponding nibble of
    /// `keccak256(lowercase hex without 0x)` is 8 or more.
    public var checksummed: String {
        let lower = Array(Hex.encode(bytes, prefix: false).utf8)
        let hash = Keccak256.hash(lower)
        var out: [UInt8] = [UInt8(ascii: "0"), UInt8(ascii: "x")]
        out.reserveCapacity(42)
        for (index, character) in lower.enumerated() {
            let hashByte = hash[index / 2]
            let hashNibble = index % 2 == 0 ? hashByte >> 4 : hashByte & 0x0F
            if character >= UInt8(ascii: "a") && hashNibble >= 8 {
                out.append(character - 0x20)
            } else {
                out.append(character)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The lowercase hex form (``lowercaseHex``).
    public var description: String { lowercaseHex }

    /// Orders addresses by their bytes.
    public static func < (lhs: EthereumAddress, rhs: EthereumAddress) -> Bool {
        lhs.bytes.lexicographicallyPrecedes(rhs.bytes)
    }
}
