import EVM
import EventLog
import Foundation
import Processor
import TributaryModel

/// Single-core throughput of normalize+decode, and of router matching with many triggers.
enum ProcessorBenchmark {
    static func run(_ options: BenchOptions) async throws {
        try normalizeAndDecode(options)
        try routerMatching(options)
    }

    /// Realistic blocks: ERC-20 transfers, Uniswap V2 swaps and logs no ABI knows, 100 logs a block.
    static func makeBlocks(count: Int) -> [Tributary_V1_RawBlockRecord] {
        let transfer = "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef"
        let swap = "0xd78ad95fa46c994b6551d0da85fc275fe613ce37657fb8d5e3d130840159d822"
        func word(_ value: Int) -> String { String(format: "%064x", value) }
        func addressTopic(_ value: Int) -> String {
            "0x" + String(repeating: "0", count: 24) + String(format: "%040x", value)
        }
        return (0..<count).map { block in
            var record = Tributary_V1_RawBlockRecord()
            record.block.chainID = "eip155:1"
            record.block.number = UInt64(18_000_000 + block)
            record.block.hash = "0x" + word(block + 1)
            record.block.parentHash = "0x" + word(block)
            record.block.timestamp = UInt64(1_700_000_000 + block * 12)
            record.status = .pending
            record.logs = (0..<100).map { index in
                var log = Tributary_V1_RawLog()
                log.logIndex = UInt32(index)
                log.transactionHash = "0x" + word(block * 1000 + index)
                log.transactionIndex = UInt32(index / 3)
                switch index % 10 {
                case 0..<6:
                    log.address = "0x" + String(format: "%040x", 0xA0B8 + index % 50)
                    log.topics = [transfer, addressTopic(block * 7 + index), addressTopic(index * 13 + 5)]
                    log.data = "0x" + word(1_000_000 * (index + 1))
                case 6..<8:
                    log.address = "0x" + String(format: "%040x", 0xB4E1 + index % 20)
                    log.topics = [swap, addressTopic(index), addressTopic(index + 1)]
                    log.data = "0x" + word(index) + word(0) + word(0) + word(index * 1000)
                default:
                    log.address = "0x" + String(format: "%040x", 0xC0DE + index)
                    log.topics = ["0x" + word(0xfeed + index)]
                    log.data = "0x" + word(index) + word(index * 2)
                }
                return log
            }
            return record
        }
    }

    static func normalizeAndDecode(_ options: BenchOptions) throws {
        print(
            "## processor: normalize + decode, one core, 100-log blocks (60% ERC-20 Transfer, 20% Uniswap V2 Swap, 20% unknown)"
        )
        let blocks = makeBlocks(count: max(1, options.records / 100))
        let normalizer = Normalizer(decoder: EVMLogDecoding(registry: .builtIn))
        let events = blocks.count * 100
        var decodedCount = 0
        _ = try measureSync("normalize + decode", records: events) {
            for block in blocks {
                decodedCount += try normalizer.normalize(block).events.count { !$0.decoded.name.isEmpty }
            }
        }
        print("decoded \(decodedCount) of \(events) events")
        _ = try measureSync("normalize + decode + proto3-JSON encode", records: events) {
            for block in blocks {
                for event in try normalizer.normalize(block).events { _ = try RecordEncoding.json.encode(event) }
            }
        }
        _ = try measureSync("normalize + decode + binary protobuf encode", records: events) {
            for block in blocks {
                for event in try normalizer.normalize(block).events { _ = try RecordEncoding.protobuf.encode(event) }
            }
        }
    }

    static func routerMatching(_ options: BenchOptions) throws {
        print("## router: 10,000 triggers watching 100,000 addresses (10 each; half with a filter), one core")
        let before = residentMemoryMiB()
        var triggers: [CompiledTrigger] = []
        let resolver = EVMEventResolver(registry: .builtIn)
        for index in 0..<10_000 {
            var record = Tributary_V1_TriggerRecord()
            record.id = "trigger-\(index)"
            record.functionName = "f\(index % 100)"
            record.event = "Transfer(address indexed from, address indexed to, uint256 value)"
            record.addresses = (0..<10).map { "0x" + String(format: "%040x", index * 10 + $0) }
            if index % 2 == 0 { record.filter = "args.value > 5000000" }
            triggers.append(try CompiledTrigger(record, resolver: resolver))
        }
        let index = TriggerIndex(triggers)
        print(
            "index: \(index.entryCount) entries, resident memory +\(String(format: "%.1f", residentMemoryMiB() - before)) MiB"
        )
        let normalizer = Normalizer(decoder: EVMLogDecoding(registry: .builtIn))
        var events = try makeBlocks(count: max(1, options.records / 100)).flatMap {
            try normalizer.normalize($0).events
        }
        // One event in ten comes from a watched address.
        for position in stride(from: 0, to: events.count, by: 10) {
            events[position].address = "0x" + String(format: "%040x", (position * 7919) % 100_000)
        }
        var matched = 0
        _ = measureSync("router matching (index + filters)", records: events.count) {
            for event in events { matched += index.matches(event).count }
        }
        print("matched \(matched) trigger-event pairs")
    }
}

/// Times a synchronous block and reports items per second.
func measureSync(_ label: String, records: Int, _ body: () throws -> Void) rethrows -> Double {
    let start = ContinuousClock.now
    try body()
    let elapsed = ContinuousClock.now - start
    let seconds = elapsed.secondsValue
    let rate = Double(records) / seconds
    print(
        "\(label.padding(toLength: 58, withPad: " ", startingAt: 0)) \(String(format: "%10.0f", rate)) events/s  (\(records) in \(String(format: "%.3f", seconds)) s)"
    )
    return rate
}
