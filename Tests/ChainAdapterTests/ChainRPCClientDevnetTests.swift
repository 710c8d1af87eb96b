import ChainAdapter
import EVM
import Foundation
import Testing
import TributaryTesting

/// The JSON-RPC client and endpoint pool against the real devnet, including its injected failures.
@Suite(.serialized) struct ChainRPCClientDevnetTests {
    /// Calls a devnet test control through its own single-endpoint pool.
    static func control(_ devnet: DevnetProcess, _ method: String, _ params: [String: Any]) async throws {
        try await RawEventsView.control(devnet, method, params)
    }

    @Test func blocksLogsAndBloomsAreConsistent() async throws {
        let devnet = try DevnetProcess()
        defer { devnet.stop() }
        try await Self.control(devnet, "devnet_mine", ["blocks": 20, "txsPerBlock": 3])
        let pool = EndpointPool(endpoints: [JSONRPCEndpoint(url: devnet.httpURL)])
        let client = ChainRPCClient(pool: pool)
        #expect(try await client.chainID() == devnet.chainID)
        let head = try await client.blockNumber()
        #expect(head >= 21)
        let logs = try await client.logs(from: 1, to: head)
        #expect(!logs.isEmpty)
        let headers = try await client.headers(Array(1...head))
        #expect(headers.count == Int(head))
        for (index, header) in headers.enumerated() {
            let header = try #require(header)
            #expect(header.number == UInt64(index + 1))
            if index > 0 { #expect(header.parentHash == headers[index - 1]?.hash) }
            let blockLogs = logs.filter { $0.blockNumber == header.number }
            #expect(blockLogs.allSatisfy { $0.blockHash == header.hash })
            #expect(
                try LogsBloom.of(blockLogs) == header.logsBloom, "block \(header.number) bloom disagrees with its logs")
            #expect(blockLogs.map(\.logIndex) == Array(0..<UInt32(blockLogs.count)))
            if header.number == head {
                #expect(try await client.logs(blockHash: header.hash) == blockLogs)
                #expect(try await client.header(hash: header.hash) == header)
                let both = try #require(try await client.blockWithLogs(number: header.number, hash: header.hash))
                #expect(both.header == header)
                #expect(both.logs == blockLogs)
                // Not the node's block at that height (another branch, or another block).
                #expect(try await client.blockWithLogs(number: header.number - 1, hash: header.hash) == nil)
            }
        }
        #expect(try await client.header(.number(head + 1000)) == nil)
        // A block the node does not know (a notification from a node ahead of this one).
        #expect(try await client.blockWithLogs(number: head + 1, hash: "0x" + String(repeating: "ab", count: 32)) == nil)
        await pool.shutdown()
    }

    @Test func failsOverFromADeadEndpointAndRetriesInjectedFailures() async throws {
        let devnet = try DevnetProcess()
        defer { devnet.stop() }
        let pool = EndpointPool(
            endpoints: [JSONRPCEndpoint(url: "http://127.0.0.1:1", weight: 100), JSONRPCEndpoint(url: devnet.httpURL)],
            maximumBackoff: .seconds(1))
        let client = ChainRPCClient(pool: pool)
        for _ in 0..<5 { #expect(try await client.chainID() == devnet.chainID) }
        try await Self.control(
            devnet, "devnet_injectFailure",
            ["kind": "http429", "method": "eth_blockNumber", "count": 2, "retryAfter": 1])
        try await Self.control(
            devnet, "devnet_injectFailure", ["kind": "malformed", "method": "eth_chainId", "count": 1])
        #expect(try await client.blockNumber() >= 1)
        #expect(try await client.chainID() == devnet.chainID)
        await pool.shutdown()
    }

    @Test func providerLimitsBecomeTypedErrors() async throws {
        let devnet = try DevnetProcess()
        defer { devnet.stop() }
        try await Self.control(devnet, "devnet_mine", ["blocks": 30, "txsPerBlock": 2])
        let pool = EndpointPool(endpoints: [JSONRPCEndpoint(url: devnet.httpURL)])
        let client = ChainRPCClient(pool: pool)
        try await Self.control(devnet, "devnet_setLogsLimits", ["maxResults": 10])
        let tooMany = try await #require(throws: ChainAdapterError.self) { try await client.logs(from: 1, to: 30) }
        #expect(tooMany.code == .tooManyResults)
        let suggested = try #require(tooMany.suggestedRange)
        #expect(suggested.lowerBound == 1 && suggested.upperBound < 30)
        #expect(try await client.logs(from: suggested.lowerBound, to: suggested.upperBound).count <= 10)
        try await Self.control(devnet, "devnet_setLogsLimits", ["maxResults": 0, "maxRange": 5])
        let tooLarge = try await #require(throws: ChainAdapterError.self) { try await client.logs(from: 1, to: 30) }
        #expect(tooLarge.code == .rangeTooLarge || tooLarge.code == .rpcError, "\(tooLarge)")
        await pool.shutdown()
    }
}
