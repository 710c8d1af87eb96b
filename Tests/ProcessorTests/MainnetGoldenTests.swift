import EVM
import Foundation
import Processor
import Testing
import TributaryModel

/// Real mainnet logs through the processor's normalizer and the built-in ABIs: the ERC-20
/// transfers ethereum-etl extracts are reproduced exactly, and logs it skips are not taken for
/// transfers.
@Suite struct MainnetGoldenTests {
    /// Real mainnet data committed with the tests; see Tests/Fixtures/mainnet/PROVENANCE.md.
    static let fixtures = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Fixtures/mainnet")

    struct Transfer: Hashable {
        var token, from, to, value, transaction: String
        var logIndex: UInt32
    }

    /// Groups logs into raw block records and normalizes them.
    static func transfers(fromLogs logs: [[String: Any]]) throws -> (transfers: Set<Transfer>, events: Int) {
        let byBlock = Dictionary(grouping: logs) { $0["block_hash"] as! String }
        let normalizer = Normalizer(decoder: EVMLogDecoding(registry: .builtIn))
        var transfers = Set<Transfer>()
        var events = 0
        for (hash, blockLogs) in byBlock {
            var record = Tributary_V1_RawBlockRecord()
            record.block.chainID = "eip155:1"
            record.block.hash = hash
            record.block.number = UInt64(blockLogs[0]["block_number"] as! Int)
            record.block.parentHash = "0x" + String(repeating: "0", count: 64)
            record.status = .finalized
            record.logs = blockLogs.map { entry in
                var log = Tributary_V1_RawLog()
                log.address = entry["address"] as! String
                log.topics = entry["topics"] as! [String]
                log.data = entry["data"] as! String
                log.logIndex = UInt32(entry["log_index"] as! Int)
                log.transactionHash = entry["transaction_hash"] as! String
                log.transactionIndex = UInt32(entry["transaction_index"] as? Int ?? 0)
                return log
            }
            for event in try normalizer.normalize(record).events {
                events += 1
                guard event.decoded.abi == "erc20", event.decoded.name == "Transfer" else { continue }
                let arguments = Dictionary(
                    uniqueKeysWithValues: event.decoded.arguments.map { ($0.name, $0.value.stringValue) })
                transfers.insert(
                    Transfer(
                        token: event.address, from: arguments["from"]!, to: arguments["to"]!,
                        value: arguments["value"]!,
                        transaction: event.transactionHash, logIndex: event.logIndex))
            }
        }
        return (transfers, events)
    }

    @Test func extractTokenTransfersJobIsReproduced() throws {
        let folder = Self.fixtures.appendingPathComponent("test_extract_token_transfers_job__logs")
        let logsCSV = try String(contentsOf: folder.appendingPathComponent("logs.csv"), encoding: .utf8)
        let expectedCSV = try String(
            contentsOf: folder.appendingPathComponent("expected_token_transfers.csv"), encoding: .utf8)
        let rows = CSV.rows(logsCSV)
        let header = rows[0]
        let logs: [[String: Any]] = rows.dropFirst().map { row in
            let field = Dictionary(uniqueKeysWithValues: zip(header, row))
            return [
                "block_hash": field["block_hash"]!, "block_number": Int(field["block_number"]!)!,
                "address": field["address"]!, "data": field["data"]!,
                "topics": field["topics"]!.split(separator: ",").map(String.init),
                "log_index": Int(field["log_index"]!)!, "transaction_hash": field["transaction_hash"]!,
                "transaction_index": Int(field["transaction_index"]!)!,
            ]
        }
        let expectedRows = CSV.rows(expectedCSV)
        let expected = Set(
            expectedRows.dropFirst().map { row in
                Transfer(
                    token: row[0], from: row[1], to: row[2], value: row[3], transaction: row[4],
                    logIndex: UInt32(row[5])!)
            })
        let (actual, events) = try Self.transfers(fromLogs: logs)
        #expect(events == logs.count, "every log becomes a canonical event")
        #expect(actual == expected)
        #expect(!expected.isEmpty)
    }

    @Test func streamedBlocksTransfersAreReproduced() throws {
        let folder = Self.fixtures.appendingPathComponent("test_stream__blocks_1755634_1755635")
        func jsonLines(_ name: String) throws -> [[String: Any]] {
            try String(contentsOf: folder.appendingPathComponent(name), encoding: .utf8)
                .split(separator: "\n").map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
        }
        let logs = try jsonLines("expected_logs.json")
        let expected = Set(
            try jsonLines("expected_token_transfers.json").map { entry in
                Transfer(
                    token: entry["token_address"] as! String, from: entry["from_address"] as! String,
                    to: entry["to_address"] as! String, value: "\(entry["value"]!)",
                    transaction: entry["transaction_hash"] as! String, logIndex: UInt32(entry["log_index"] as! Int))
            })
        let (actual, events) = try Self.transfers(fromLogs: logs)
        #expect(events == logs.count)
        #expect(actual == expected)
    }
}

/// Just enough CSV for the fixtures: commas, and double-quoted fields that contain commas.
enum CSV {
    static func rows(_ text: String) -> [[String]] {
        text.split(whereSeparator: \.isNewline).map { line in
            var fields: [String] = []
            var field = ""
            var quoted = false
            for character in line {
                switch character {
                case "\"": quoted.toggle()
                case "," where !quoted:
                    fields.append(field)
                    field = ""
                default: field.append(character)
                }
            }
            fields.append(field)
            return fields
        }
    }
}
