#if _endian(big)
    #error("Keccak256 assumes a little-endian host (lanes are XORed byte-wise and word-wise).")
#endif

/// Ethereum's Keccak-256 hash (the original Keccak submission, padding byte `0x01`, not the
/// FIPS-202 SHA3-256 with `0x06`).
///
/// Use ``hash(_:)`` for one-shot hashing or create a hasher and feed it incrementally:
///
/// ```swift
/// let topic0 = Keccak256.hash(Array("Transfer(address,address,uint256)".utf8))
///
/// var hasher = Keccak256()
/// hasher.update(header)
/// hasher.update(body)
/// let digest = hasher.finalize()
/// ```
///
/// The hasher is a value type with a fixed 25-lane state and no heap storage: whole 136-byte
/// blocks are absorbed straight from the caller's contiguous buffer, partial blocks are XORed
/// into the state byte by byte, and the permutation runs unrolled on 25 local `UInt64` lanes.
public struct Keccak256: Sendable {
    /// The sponge rate in bytes (1088 bits) for a 256-bit capacity.
    public static let blockSize = 136
    /// The digest length in bytes.
    public static let digestSize = 32

    private typealias State = (
        UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64,
        UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64,
        UInt64, UInt64, UInt64, UInt64, UInt64
    )

    private var state: State = (
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0
    )
    /// Bytes already XORed into the current (partial) block, `0..<blockSize`.
    private var position = 0

    /// Creates a hasher with an empty state.
    public init() {}

    /// Hashes `bytes` in one call.
    ///
    /// - Parameter bytes: The message; contiguous collections (`[UInt8]`, `ArraySlice`,
    ///   `String.UTF8View` of native strings) are hashed without copying.
    /// - Returns: The 32-byte digest.
    public static func hash(_ bytes: some Collection<UInt8>) -> [UInt8] {
        var hasher = Keccak256()
        hasher.update(bytes)
        return hasher.finalize()
    }

    /// Absorbs more message bytes.
    ///
    /// Splitting a message across any number of `update` calls at any boundaries gives the same
    /// digest as hashing it at once.
    /// - Parameter bytes: The next part of the message.
    public mutating func update(_ bytes: some Collection<UInt8>) {
        let done: Void? = bytes.withContiguousStorageIfAvailable { buffer in
            absorb(UnsafeRawBufferPointer(buffer))
        }
        if done == nil {
            let copy = Array(bytes)
            copy.withUnsafeBytes { absorb($0) }
        }
    }

    /// Returns the digest of everything absorbed so far.
    ///
    /// The hasher itself is not changed, so more bytes may be added afterwards to obtain the
    /// digest of a longer message.
    /// - Returns: The 32-byte digest.
    public func finalize() -> [UInt8] {
        var copy = self
        return copy.padAndSqueeze()
    }

    private mutating func padAndSqueeze() -> [UInt8] {
        let position = self.position
        return withUnsafeMutableBytes(of: &state) { raw in
            raw[position] ^= 0x01
            raw[Self.blockSize - 1] ^= 0x80
            let lanes = raw.bindMemory(to: UInt64.self)
            Self.permute(lanes.baseAddress!)  // The 200-byte state is never empty.
            return [UInt8](UnsafeRawBufferPointer(rebasing: raw[0..<Self.digestSize]))
        }
    }

    private mutating func absorb(_ input: UnsafeRawBufferPointer) {
        guard let base = input.baseAddress, input.count > 0 else { return }
        let count = input.count
        var position = self.position
        withUnsafeMutableBytes(of: &state) { raw in
            let lanes = raw.bindMemory(to: UInt64.self).baseAddress!
            var index = 0
            // Finish a partial block byte by byte.
            if position != 0 {
                while index < count && position < Self.blockSize {
                    raw[position] ^= base.load(fromByteOffset: index, as: UInt8.self)
                    position += 1
                    index += 1
                }
                if position == Self.blockSize {
                    Self.permute(lanes)
                    position = 0
                }
            }
            // Whole blocks, eight bytes per lane.
            while position == 0 && count - index >= Self.blockSize {
                for lane in 0..<(Self.blockSize / 8) {
                    let word = base.loadUnaligned(fromByteOffset: index + lane * 8, as: UInt64.self)
                    lanes[lane] ^= UInt64(littleEndian: word)
                }
                Self.permute(lanes)
                index += Self.blockSize
            }
            // The tail starts a new partial block (it is shorter than a block).
            while index < count {
                raw[position] ^= base.load(fromByteOffset: index, as: UInt8.self)
                position += 1
                index += 1
            }
        }
        self.position = position
    }

    @inline(__always)
    private static func rotateLeft(_ value: UInt64, _ amount: UInt64) -> UInt64 {
        value &<< amount | value &>> (64 &- amount)
    }

    /// Keccak-f[1600] on the 25 lanes at `lanes`.
    private static func permute(_ lanes: UnsafeMutablePointer<UInt64>) {
        var a0 = lanes[0]
        var a1 = lanes[1]
        var a2 = lanes[2]
        var a3 = lanes[3]
        var a4 = lanes[4]
        var a5 = lanes[5]
        var a6 = lanes[6]
        var a7 = lanes[7]
        var a8 = lanes[8]
        var a9 = lanes[9]
        var a10 = lanes[10]
        var a11 = lanes[11]
        var a12 = lanes[12]
        var a13 = lanes[13]
        var a14 = lanes[14]
        var a15 = lanes[15]
        var a16 = lanes[16]
        var a17 = lanes[17]
        var a18 = lanes[18]
        var a19 = lanes[19]
        var a20 = lanes[20]
        var a21 = lanes[21]
        var a22 = lanes[22]
        var a23 = lanes[23]
        var a24 = lanes[24]
        for round in 0..<24 {
            let roundConstant = roundConstant(round)
            let c0 = a0 ^ a5 ^ a10 ^ a15 ^ a20
            let c1 = a1 ^ a6 ^ a11 ^ a16 ^ a21
            let c2 = a2 ^ a7 ^ a12 ^ a17 ^ a22
            let c3 = a3 ^ a8 ^ a13 ^ a18 ^ a23
            let c4 = a4 ^ a9 ^ a14 ^ a19 ^ a24
            let d0 = c4 ^ rotateLeft(c1, 1)
            let d1 = c0 ^ rotateLeft(c2, 1)
            let d2 = c1 ^ rotateLeft(c3, 1)
            let d3 = c2 ^ rotateLeft(c4, 1)
            let d4 = c3 ^ rotateLeft(c0, 1)
            let b0 = a0 ^ d0
            let b1 = rotateLeft(a6 ^ d1, 44)
            let b2 = rotateLeft(a12 ^ d2, 43)
            let b3 = rotateLeft(a18 ^ d3, 21)
            let b4 = rotateLeft(a24 ^ d4, 14)
            let b5 = rotateLeft(a3 ^ d3, 28)
            let b6 = rotateLeft(a9 ^ d4, 20)
            let b7 = rotateLeft(a10 ^ d0, 3)
            let b8 = rotateLeft(a16 ^ d1, 45)
            let b9 = rotateLeft(a22 ^ d2, 61)
            let b10 = rotateLeft(a1 ^ d1, 1)
            let b11 = rotateLeft(a7 ^ d2, 6)
            let b12 = rotateLeft(a13 ^ d3, 25)
            let b13 = rotateLeft(a19 ^ d4, 8)
            let b14 = rotateLeft(a20 ^ d0, 18)
            let b15 = rotateLeft(a4 ^ d4, 27)
            let b16 = rotateLeft(a5 ^ d0, 36)
            let b17 = rotateLeft(a11 ^ d1, 10)
            let b18 = rotateLeft(a17 ^ d2, 15)
            let b19 = rotateLeft(a23 ^ d3, 56)
            let b20 = rotateLeft(a2 ^ d2, 62)
            let b21 = rotateLeft(a8 ^ d3, 55)
            let b22 = rotateLeft(a14 ^ d4, 39)
            let b23 = rotateLeft(a15 ^ d0, 41)
            let b24 = rotateLeft(a21 ^ d1, 2)
            a0 = b0 ^ (~b1 & b2)
            a1 = b1 ^ (~b2 & b3)
            a2 = b2 ^ (~b3 & b4)
            a3 = b3 ^ (~b4 & b0)
            a4 = b4 ^ (~b0 & b1)
            a5 = b5 ^ (~b6 & b7)
            a6 = b6 ^ (~b7 & b8)
            a7 = b7 ^ (~b8 & b9)
            a8 = b8 ^ (~b9 & b5)
            a9 = b9 ^ (~b5 & b6)
            a10 = b10 ^ (~b11 & b12)
            a11 = b11 ^ (~b12 & b13)
            a12 = b12 ^ (~b13 & b14)
            a13 = b13 ^ (~b14 & b10)
            a14 = b14 ^ (~b10 & b11)
            a15 = b15 ^ (~b16 & b17)
            a16 = b16 ^ (~b17 & b18)
            a17 = b17 ^ (~b18 & b19)
            a18 = b18 ^ (~b19 & b15)
            a19 = b19 ^ (~b15 & b16)
            a20 = b20 ^ (~b21 & b22)
            a21 = b21 ^ (~b22 & b23)
            a22 = b22 ^ (~b23 & b24)
            a23 = b23 ^ (~b24 & b20)
            a24 = b24 ^ (~b20 & b21)
            a0 ^= roundConstant
        }
        lanes[0] = a0
        lanes[1] = a1
        lanes[2] = a2
        lanes[3] = a3
        lanes[4] = a4
        lanes[5] = a5
        lanes[6] = a6
        lanes[7] = a7
        lanes[8] = a8
        lanes[9] = a9
        lanes[10] = a10
        lanes[11] = a11
        lanes[12] = a12
        lanes[13] = a13
        lanes[14] = a14
        lanes[15] = a15
        lanes[16] = a16
        lanes[17] = a17
        lanes[18] = a18
        lanes[19] = a19
        lanes[20] = a20
        lanes[21] = a21
        lanes[22] = a22
        lanes[23] = a23
        lanes[24] = a24
    }

    @inline(__always)
    private static func roundConstant(_ round: Int) -> UInt64 {
        switch round {
        case 0: 0x0000_0000_0000_0001
        case 1: 0x0000_0000_0000_8082
        case 2: 0x8000_0000_0000_808A
        case 3: 0x8000_0000_8000_8000
        case 4: 0x0000_0000_0000_808B
        case 5: 0x0000_0000_8000_0001
        case 6: 0x8000_0000_8000_8081
        case 7: 0x8000_0000_0000_8009
        case 8: 0x0000_0000_0000_008A
        case 9: 0x0000_0000_0000_0088
        case 10: 0x0000_0000_8000_8009
        case 11: 0x0000_0000_8000_000A
        case 12: 0x0000_0000_8000_808B
        case 13: 0x8000_0000_0000_008B
        case 14: 0x8000_0000_0000_8089
        case 15: 0x8000_0000_0000_8003
        case 16: 0x8000_0000_0000_8002
        case 17: 0x8000_0000_0000_0080
        case 18: 0x0000_0000_0000_800A
        case 19: 0x8000_0000_8000_000A
        case 20: 0x8000_0000_8000_8081
        case 21: 0x8000_0000_0000_8080
        case 22: 0x0000_0000_8000_0001
        default: 0x8000_0000_8000_8008
        }
    }
}
