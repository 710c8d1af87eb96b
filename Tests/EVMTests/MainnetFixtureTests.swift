import EVM
import Foundation
import Testing

/// Golden tests against real mainnet logs and the ERC-20 transfers that ethereum-etl
/// (blockchain-etl/ethereum-etl, MIT) extracts from them; see Tests/Fixtures/mainnet/PROVENANCE.md.
///
/// ethereum-etl reports a log as an ERC-20 transfer only when topic0 is the Transfer signature,
/// there are exactly three topics and the data is 32 bytes. Here: the registry's
/// `(topic0, topic count)` lookup must give the `erc20` Transfer and its strict decode must succeed.
@Suite struct MainnetFixtureTests {
    struct Log {
        var address: String
        var topics: [String]
        var data: String
    }

    struct TokenTransfer: Equatable, CustomStringConvertible {
        var token: String
        var from: String
        var to: String
        var value: String
        var description: String { "\(token) \(from)→\(to) \(value)" }
    }

    /// The ERC-20 transfers among `logs`, as the processor would extract them.
    static func erc20Transfers(_ logs: [Log]) -> [TokenTransfer] {
        logs.compactMap { log in
            guard let topic0 = log.topics.first,
                let entry = EventRegistry.builtIn.lookup(topic0Hex: topic0, topicCount: log.topics.count),
                entry.source == "erc20", entry.event.name == "Transfer",
                let arguments = try? entry.event.decode(topics: log.topics, data: log.data)
            else { return nil }
            let values = Dictionary(uniqueKeysWithValues: arguments.map { ($0.name, $0.value.displayString) })
            return TokenTransfer(
                token: log.address, from: values["from"] ?? "", to: values["to"] ?? "", value: values["value"] ?? "")
        }
    }

    /// Splits CSV text into rows of fields, honouring double-quoted fields.
    static func parseCSV(_ text: String) -> [[String]] {
        var rows: [[String]] = []
        var row: [String] = []
        var field = ""
        var quoted = false
        for character in text {
            switch (character, quoted) {
            case ("\"", _): quoted.toggle()
            case (",", false):
                row.append(field)
                field = ""
            case ("\n", false), ("\r\n", false):
                row.append(field)
                rows.append(row)
                row = []
                field = ""
            default: field.append(character)
            }
        }
        if !field.isEmpty || !row.isEmpty {
            row.append(field)
            rows.append(row)
        }
        return rows
    }

    static func records(_ csv: String) throws -> [[String: String]] {
        let rows = parseCSV(csv)
        let header = try #require(rows.first)
        return rows.dropFirst().filter { $0.count == header.count }.map {
            Dictionary(uniqueKeysWithValues: zip(header, $0))
        }
    }

    static let folder = "mainnet/test_extract_token_transfers_job__logs"

    static func csvLogs() throws -> [Log] {
        try records(try Fixtures.text("\(folder)/logs.csv")).map {
            Log(
                address: $0["address"] ?? "",
                topics: ($0["topics"] ?? "").split(separator: ",").map(String.init),
                data: $0["data"] ?? "")
        }
    }

    @Test func extractTokenTransfersJobFromCSV() throws {
        let logs = try Self.csvLogs()
        #expect(logs.count == 3)
        let expected = try Self.records(try Fixtures.text("\(Self.folder)/expected_token_transfers.csv")).map {
            TokenTransfer(
                token: $0["token_address"] ?? "", from: $0["from_address"] ?? "", to: $0["to_address"] ?? "",
                value: $0["value"] ?? "")
        }
        #expect(expected.count == 2)
        #expect(Self.erc20Transfers(logs) == expected)
    }

    @Test func logsEthereumETLSkipsAreNotERC20Transfers() throws {
        let transfer = try #require(try Self.csvLogs().first)
        #expect(Self.erc20Transfers([transfer]).count == 1)
        var longData = transfer
        longData.data += String(repeating: "0", count: 64)
        var shortData = transfer
        shortData.data.removeLast(2)
        var emptyData = transfer
        emptyData.data = "0x"
        var fourTopics = transfer
        fourTopics.topics.append("0x" + String(repeating: "0", count: 63) + "1")
        var twoTopics = transfer
        twoTopics.topics.removeLast()
        var otherTopic0 = transfer
        otherTopic0.topics[0] = "0xde857d2761836ca6234345c7f7f4c783271ed7d1aedf9268b3fe32800d186fde"
        var dirtyAddress = transfer
        dirtyAddress.topics[1] = "0x01" + dirtyAddress.topics[1].dropFirst(4)
        for (label, log) in [
            ("64-byte data", longData), ("31-byte data", shortData), ("empty data", emptyData),
            ("4 topics (ERC-721)", fourTopics), ("2 topics", twoTopics), ("other topic0", otherTopic0),
            ("address padding", dirtyAddress),
        ] {
            #expect(Self.erc20Transfers([log]).isEmpty, "\(label) must not be an ERC-20 transfer")
        }
        // The 4-topic variant is an ERC-721 transfer instead.
        let entry = EventRegistry.builtIn.lookup(topic0Hex: fourTopics.topics[0], topicCount: 4)
        #expect(entry?.source == "erc721")
        #expect((try? entry?.event.decode(topics: fourTopics.topics, data: "0x"))?.last?.value == .uint(1))
    }

    @Test func streamBlocksReceiptsMatchExpectedTokenTransfers() throws {
        let folder = "mainnet/test_stream__blocks_1755634_1755635"
        struct Receipt: Decodable {
            struct Result: Decodable {
                struct RawLog: Decodable {
                    var address: String
                    var topics: [String]
                    var data: String
                    var logIndex: String
                }
                var logs: [RawLog]
                var blockNumber: String
            }
            var result: Result
        }
        var logs: [(block: String, index: String, log: Log)] = []
        let receiptFiles = try Fixtures.files(in: folder).filter {
            $0.hasPrefix("web3_response.eth_getTransactionReceipt_")
        }
        #expect(receiptFiles.count == 2)
        for file in receiptFiles {
            let receipt = try JSONDecoder().decode(Receipt.self, from: try Fixtures.data("\(folder)/\(file)"))
            for raw in receipt.result.logs {
                logs.append(
                    (
                        receipt.result.blockNumber, raw.logIndex,
                        Log(address: raw.address, topics: raw.topics, data: raw.data)
                    ))
            }
        }
        logs.sort { ($0.block, $0.index) < ($1.block, $1.index) }
        #expect(logs.count == 2)

        // expected_token_transfers.json: one JSON object per line; `value` is an exact integer,
        // read from the text so no floating-point conversion can alter it.
        let lines = try Fixtures.text("\(folder)/expected_token_transfers.json").split(separator: "\n")
        let expected = try lines.map { line -> TokenTransfer in
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            let valueText = try #require(line.firstMatch(of: #/"value": *([0-9]+)/#)).output.1
            return TokenTransfer(
                token: object["token_address"] as? String ?? "", from: object["from_address"] as? String ?? "",
                to: object["to_address"] as? String ?? "", value: String(valueText))
        }
        #expect(expected.count == 1)
        #expect(Self.erc20Transfers(logs.map(\.log)) == expected)
    }
}
