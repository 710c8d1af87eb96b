import EVM
import Testing

@Suite struct EventRegistryTests {
    static let transferTopic0 = hex("ddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef")

    @Test func erc20AndErc721TransferAreToldApartByTopicCount() throws {
        let registry = EventRegistry.builtIn
        let erc20 = try #require(registry.lookup(topic0: Self.transferTopic0, topicCount: 3))
        #expect(erc20.source == "erc20")
        #expect(erc20.event.parameters.map(\.name) == ["from", "to", "value"])
        let erc721 = try #require(registry.lookup(topic0: Self.transferTopic0, topicCount: 4))
        #expect(erc721.source == "erc721")
        #expect(erc721.event.parameters.map(\.name) == ["from", "to", "tokenId"])
        #expect(registry.lookup(topic0: Self.transferTopic0, topicCount: 2) == nil)
        #expect(registry.lookup(topic0: Self.transferTopic0.dropLast(), topicCount: 3) == nil)
        #expect(registry.lookup(topic0Hex: Hex.encode(Self.transferTopic0), topicCount: 4)?.source == "erc721")

        // An ERC-721 transfer log decodes with its tokenId from topic 3.
        let log = try KnownEvents.erc721Transfer.encodeLog([
            .address(try EthereumAddress("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed")),
            .address(try EthereumAddress("0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359")), .uint(1234),
        ])
        let entry = try #require(registry.lookup(topic0: log.topics[0], topicCount: log.topics.count))
        let arguments = try entry.event.decode(topics: log.topics, data: log.data)
        #expect(arguments.last?.value.displayString == "1234")
        #expect(arguments.last?.isIndexed == true)
    }

    /// topic0 values computed with pycryptodome (keccak of the canonical signature).
    @Test(arguments: [
        (
            "erc20", "Approval", 3, "8c5be1e5ebec7d5bd14f71427d1e84f3dd0314c0f7b2291e5b200ac8c7c3b925",
            ["owner", "spender", "value"]
        ),
        (
            "erc721", "Approval", 4, "8c5be1e5ebec7d5bd14f71427d1e84f3dd0314c0f7b2291e5b200ac8c7c3b925",
            ["owner", "approved", "tokenId"]
        ),
        (
            "erc721", "ApprovalForAll", 3, "17307eab39ab6107e8899845ad3d59bd9653f200f220920489ca2b5937696c31",
            ["owner", "operator", "approved"]
        ),
        (
            "erc1155", "TransferSingle", 4, "c3d58168c5ae7397731d063d5bbf3d657854427343f4c083240f7aacaa2d0f62",
            ["operator", "from", "to", "id", "value"]
        ),
        (
            "erc1155", "TransferBatch", 4, "4a39dc06d4c0dbc64b70af90fd698a233a518aa5d07e595d983b8c0526c8f7fb",
            ["operator", "from", "to", "ids", "values"]
        ),
        ("weth", "Deposit", 2, "e1fffcc4923d04b559f4d29a8bfc6cda04eb5b0d3c460751c2402c5c5cc9109c", ["dst", "wad"]),
        ("weth", "Withdrawal", 2, "7fcf532c15f0a6db0bd6d0e038bea71d30d808c7d98cb3bf7268a95bf5081b65", ["src", "wad"]),
        (
            "uniswap-v2", "Swap", 3, "d78ad95fa46c994b6551d0da85fc275fe613ce37657fb8d5e3d130840159d822",
            ["sender", "amount0In", "amount1In", "amount0Out", "amount1Out", "to"]
        ),
        (
            "uniswap-v2", "Sync", 1, "1c411e9a96e071241c2f21f7726b17ae89e3cab4c78be50e062b03a9fffbbad1",
            ["reserve0", "reserve1"]
        ),
        (
            "uniswap-v2", "Mint", 2, "4c209b5fc8ad50758f13e2e1088ba56a560dff690a1c6fef26394f4c03821c4f",
            ["sender", "amount0", "amount1"]
        ),
        (
            "uniswap-v2", "Burn", 3, "dccd412f0b1252819cb1fd330b93224ca42612892bb3f4f789976e6d81936496",
            ["sender", "amount0", "amount1", "to"]
        ),
        (
            "uniswap-v3", "Swap", 3, "c42079f94a6350d7e6235f29174924f928cc2ac818eb64fed8004e115fbcca67",
            ["sender", "recipient", "amount0", "amount1", "sqrtPriceX96", "liquidity", "tick"]
        ),
    ])
    func builtInEvents(source: String, name: String, topicCount: Int, topic0: String, names: [String]) throws {
        let entry = try #require(EventRegistry.builtIn.lookup(topic0: hex(topic0), topicCount: topicCount))
        #expect(entry.source == source)
        #expect(entry.event.name == name)
        #expect(entry.event.parameters.map(\.name) == names)
    }

    @Test func registryHoldsEveryKnownEvent() {
        #expect(EventRegistry.builtIn.count == KnownEvents.all.count)
        #expect(
            Set(EventRegistry.builtIn.entries.map(\.source)) == [
                "erc20", "erc721", "erc1155", "weth", "uniswap-v2", "uniswap-v3",
            ])
    }

    @Test func userABIsTakePrecedence() throws {
        let custom = try ContractABI(
            json: """
                [{"type": "event", "name": "Transfer", "inputs": [
                  {"name": "src", "type": "address", "indexed": true},
                  {"name": "dst", "type": "address", "indexed": true},
                  {"name": "wad", "type": "uint256", "indexed": false}]},
                 {"type": "event", "name": "Rebase", "anonymous": false, "inputs": [{"name": "supply", "type": "uint256"}]},
                 {"type": "event", "name": "Secret", "anonymous": true, "inputs": [{"name": "x", "type": "uint256"}]}]
                """)
        let registry = EventRegistry.builtIn.adding(custom, name: "weth9")
        let transfer = try #require(registry.lookup(topic0: Self.transferTopic0, topicCount: 3))
        #expect(transfer.source == "weth9")
        #expect(transfer.event.parameters.map(\.name) == ["src", "dst", "wad"])
        // The ERC-721 key is untouched; the built-in registry itself is unchanged (value type).
        #expect(registry.lookup(topic0: Self.transferTopic0, topicCount: 4)?.source == "erc721")
        #expect(EventRegistry.builtIn.lookup(topic0: Self.transferTopic0, topicCount: 3)?.source == "erc20")
        let rebase = try #require(custom.event(named: "Rebase"))
        #expect(registry.lookup(topic0: rebase.topic0, topicCount: 1)?.source == "weth9")
        // Anonymous events are not registered.
        #expect(registry.count == EventRegistry.builtIn.count + 1)
        // A later addition wins over an earlier one.
        let later = registry.adding(KnownEvents.erc20Transfer, source: "erc20-again")
        #expect(later.lookup(topic0: Self.transferTopic0, topicCount: 3)?.source == "erc20-again")
    }
}
