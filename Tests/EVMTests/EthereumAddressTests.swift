import EVM
import Testing

@Suite struct HexTests {
    @Test func roundTrip() throws {
        #expect(try Hex.decode("0x") == [])
        #expect(try Hex.decode("0xDeadBEEF") == [0xDE, 0xAD, 0xBE, 0xEF])
        #expect(try Hex.decode("0X0a") == [0x0A])
        #expect(try Hex.decode("ff", requirePrefix: false) == [0xFF])
        #expect(Hex.encode([0xDE, 0xAD, 0x00]) == "0xdead00")
        #expect(Hex.encode([0x01], prefix: false) == "01")
    }

    @Test func errorsNameTheProblem() {
        expectEVMError(.invalidHex, reasonContains: "does not start with 0x") { try Hex.decode("abcd") }
        expectEVMError(.invalidHex, reasonContains: "odd number of digits (3)") { try Hex.decode("0xabc") }
        let error = expectEVMError(.invalidHex, reasonContains: "'g' at position 5") { try Hex.decode("0xabcgef") }
        #expect(error?.offset == 5)
        expectEVMError(.invalidHex, reasonContains: "byte 0xc3 at position 2") { try Hex.decode("0x\u{00e9}") }
    }
}

/// Vectors from EIP-55 (https://eips.ethereum.org/EIPS/eip-55#test-cases).
@Suite struct EthereumAddressTests {
    static let eip55Vectors = [
        // All caps
        "0x52908400098527886E0F7030069857D2E4169EE7",
        "0x8617E340B3D01FA5F11F306F4090FD50E238070D",
        // All lower
        "0xde709f2102306220921060314715629080e2fb77",
        "0x27b1fdb04752bbc536007a920d24acb045561c26",
        // Mixed
        "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
        "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
        "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB",
        "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb",
    ]

    @Test(arguments: eip55Vectors)
    func checksumMatchesEIP55(vector: String) throws {
        let address = try EthereumAddress(vector)
        #expect(address.checksummed == vector)
        #expect(address.lowercaseHex == vector.lowercased())
        #expect(address.description == vector.lowercased())
        #expect(try EthereumAddress(vector.lowercased()) == address)
        #expect(try EthereumAddress(bytes: address.bytes) == address)
    }

    @Test func wrongChecksumIsRejected() {
        // One letter's case flipped in an EIP-55 vector.
        expectEVMError(.invalidAddress, reasonContains: "EIP-55") {
            try EthereumAddress("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD")
        }
    }

    @Test func wrongLengthIsRejected() {
        expectEVMError(.invalidAddress, reasonContains: "19 bytes") {
            try EthereumAddress("0x5aaeb6053f3e94c9b9a09f33669435e7ef1bea")
        }
        expectEVMError(.invalidAddress) { try EthereumAddress(bytes: [UInt8](repeating: 0, count: 32)) }
        expectEVMError(.invalidHex) { try EthereumAddress("5aaeb6053f3e94c9b9a09f33669435e7ef1beaed") }
    }
}
