import EVM
import Testing

/// Expected digests were produced with pycryptodome 4.4.0 (Ethereum Keccak, not SHA3):
/// `from Crypto.Hash import keccak; keccak.new(digest_bits=256, data=...).hexdigest()`.
@Suite struct Keccak256Tests {
    @Test(arguments: [
        ("", "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"),
        ("abc", "4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45"),
        ("Transfer(address,address,uint256)", "ddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef"),
    ])
    func publishedVectors(input: String, expected: String) {
        #expect(Hex.encode(Keccak256.hash(Array(input.utf8)), prefix: false) == expected)
        #expect(Hex.encode(Keccak256.hash(input.utf8), prefix: false) == expected)
    }

    /// Block-boundary cases: `keccak.new(digest_bits=256, data=b'a'*n).hexdigest()`.
    @Test(arguments: [
        (135, "34367dc248bbd832f4e3e69dfaac2f92638bd0bbd18f2912ba4ef454919cf446"),
        (136, "a6c4d403279fe3e0af03729caada8374b5ca54d8065329a3ebcaeb4b60aa386e"),
        (137, "d869f639c7046b4929fc92a4d988a8b22c55fbadb802c0c66ebcd484f1915f39"),
        (272, "cf7fcd4f705ee749930d19ca84561a9bf62516bd90a471545fa2f49fdc7e63c8"),
    ])
    func blockBoundaries(length: Int, expected: String) {
        let input = [UInt8](repeating: UInt8(ascii: "a"), count: length)
        #expect(Hex.encode(Keccak256.hash(input), prefix: false) == expected)
        // A non-contiguous collection takes the copying path and must agree.
        #expect(Hex.encode(Keccak256.hash(input.lazy.map { $0 }), prefix: false) == expected)
    }

    /// 5 MiB of `bytes(range(251))` repeated: `pat=bytes(range(251)); data=(pat*(5*1024*1024//251+1))[:5*1024*1024]`.
    static let largeInput: [UInt8] = (0..<(5 * 1024 * 1024)).map { UInt8($0 % 251) }
    static let largeDigest = "4ecd3cbff9966d5d0e3df393acbcfdd0f1251d8341f3979b3faddc54a1c0199b"

    @Test func fiveMebibytes() {
        #expect(Hex.encode(Keccak256.hash(Self.largeInput), prefix: false) == Self.largeDigest)
    }

    @Test func incrementalUpdatesAtOddBoundariesMatchOneShot() {
        let input = Array(Self.largeInput.prefix(100_003))
        let oneShot = Keccak256.hash(input)
        for chunkSizes in [[1], [7, 129, 135, 136, 137, 3], [135], [136], [137], [1000, 1], [271, 2, 8191]] {
            var hasher = Keccak256()
            var offset = 0
            var turn = 0
            while offset < input.count {
                let size = min(chunkSizes[turn % chunkSizes.count], input.count - offset)
                hasher.update(input[offset..<(offset + size)])
                offset += size
                turn += 1
            }
            #expect(hasher.finalize() == oneShot, "chunks \(chunkSizes)")
        }
        // Large input fed in odd slices, including an empty update.
        var hasher = Keccak256()
        hasher.update(Self.largeInput[0..<1_234_567])
        hasher.update([UInt8]())
        hasher.update(Self.largeInput[1_234_567...])
        #expect(Hex.encode(hasher.finalize(), prefix: false) == Self.largeDigest)
    }

    @Test func finalizeDoesNotDisturbTheHasher() {
        var hasher = Keccak256()
        hasher.update(Array("ab".utf8))
        _ = hasher.finalize()
        hasher.update(Array("c".utf8))
        #expect(
            Hex.encode(hasher.finalize(), prefix: false)
                == "4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45")
    }
}
