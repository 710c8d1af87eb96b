import EVM
import Foundation
import Testing

/// JSON-RPC decoding against real mainnet responses, and malformed responses.
@Suite struct RPCDecodingTests {
    static func result(_ path: String) throws -> Any {
        let json = try RPCDecoding.json(Array(try Fixtures.data(path)), what: path)
        return (json as! [String: Any])["result"]!
    }

    @Test func mainnetBlockAndReceiptsDecodeConsistently() throws {
        let folder = "mainnet/test_stream__blocks_1755634_1755635/"
        let block = try RPCDecoding.blockHeader(
            try Self.result(folder + "web3_response.eth_getBlockByNumber_0x1ac9f3_true.json"))
        #expect(block.number == 0x1ac9f3)
        #expect(block.hash == "0x1dec87ec1ba8e65b7773bb6f62249468948a28a427efd3d896a2ff7d7c591a67")
        #expect(block.transactionHashes.count == 2)
        #expect(!block.bloomIsEmpty)
        var logs: [RPCLog] = []
        for hash in block.transactionHashes {
            let receipt = try RPCDecoding.receipt(
                try Self.result(folder + "web3_response.eth_getTransactionReceipt_\(hash).json"))
            #expect(receipt.blockHash == block.hash)
            #expect(try LogsBloom.of(receipt.logs) == receipt.logsBloom, "receipt bloom must match its logs")
            logs += receipt.logs
        }
        #expect(try LogsBloom.of(logs) == block.logsBloom, "block bloom must be the union of its receipts' blooms")
        for log in logs {
            #expect(LogsBloom.mayContain(block.logsBloom, try Hex.decode(log.address)))
            for topic in log.topics { #expect(LogsBloom.mayContain(block.logsBloom, try Hex.decode(topic))) }
        }
        #expect(logs.map(\.logIndex) == Array(0..<UInt32(logs.count)), "log indexes are block-wide")
        let empty = try RPCDecoding.blockHeader(
            try Self.result(folder + "web3_response.eth_getBlockByNumber_0x1ac9f2_true.json"))
        #expect(empty.number == 0x1ac9f2)
        #expect(block.parentHash == empty.hash)
    }

    @Test func receiptsWithLogsDecode() throws {
        let folder = "mainnet/test_export_receipts_job__receipts_with_logs/"
        for hash in [
            "0x04cbcb236043d8fb7839e07bbc7f5eed692fb2ca55d897f1101eac3e3ad4fab8",
            "0x463d53f0ad57677a3b430a007c1c31d15d62c37fab5eee598551697c297c235c",
        ] {
            let receipt = try RPCDecoding.receipt(
                try Self.result(folder + "web3_response.eth_getTransactionReceipt_\(hash).json"))
            #expect(receipt.transactionHash == hash)
            #expect(try LogsBloom.of(receipt.logs) == receipt.logsBloom)
        }
    }

    static func goodLog() -> [String: Any] {
        [
            "address": "0xbb9bc244d798123fde783fcc1c72d3bb8c189413",
            "topics": ["0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef"],
            "data": "0x", "blockNumber": "0x1", "logIndex": "0x0", "transactionIndex": "0x0",
            "blockHash": "0x" + String(repeating: "1", count: 64),
            "transactionHash": "0x" + String(repeating: "2", count: 64),
            "removed": false,
        ]
    }

    /// (field, the JSON to put there, what the error must say).
    @Test(arguments: [
        ("address", #""0x1234""#, "log.address: expected 20 bytes, got 2"),
        ("blockNumber", #""12""#, "log.blockNumber: expected a hex quantity"),
        ("blockNumber", "null", "log.blockNumber: missing"),
        ("topics", #"["0xzz"]"#, "log.topics[0]"),
        ("data", #""0x123""#, "log.data"),
        ("removed", #""no""#, "log.removed: expected true or false"),
        ("logIndex", #""0x1ffffffffff""#, "log.logIndex"),
    ])
    func malformedLogsNameTheField(field: String, json: String, expected: String) throws {
        var log = Self.goodLog()
        log[field] = (try JSONSerialization.jsonObject(with: Data("[\(json)]".utf8)) as! [Any])[0]
        #expect {
            try RPCDecoding.log(log)
        } throws: { error in
            guard let error = error as? EVMError else { return false }
            return error.code == .invalidResponse && error.reason.contains(expected)
        }
    }

    @Test func inconsistentReceiptsAndGarbageAreErrors() throws {
        #expect(throws: EVMError.self) { try RPCDecoding.json(Array("{\"result\": ".utf8), what: "response") }
        #expect(throws: EVMError.self) { try RPCDecoding.blockHeader([1, 2, 3]) }
        var receipt: [String: Any] = [
            "transactionHash": "0x" + String(repeating: "2", count: 64), "transactionIndex": "0x0",
            "blockHash": "0x" + String(repeating: "3", count: 64), "blockNumber": "0x1",
            "logs": [Self.goodLog()], "logsBloom": "0x" + String(repeating: "0", count: 512),
        ]
        let error = try #require(throws: EVMError.self) { try RPCDecoding.receipt(receipt) }
        #expect(error.reason.contains("belongs to another block"))
        receipt["logsBloom"] = "0x00"
        receipt["logs"] = []
        let bloom = try #require(throws: EVMError.self) { try RPCDecoding.receipt(receipt) }
        #expect(bloom.reason == "receipt.logsBloom: expected 256 bytes, got 1")
    }
}
