import EventLog
import Foundation
import SwiftProtobuf
import TributaryModel

/// Command-line options shared by the benchmarks.
struct BenchOptions: Sendable {
    /// Records per measurement. Default: 200,000.
    var records = 200_000
    /// Records in the Kafka memory soak. Default: 10,000,000.
    var soakRecords = 10_000_000
    /// Value size in bytes. Default: 300.
    var recordBytes = 300
    /// Devnet blocks for the backfill benchmark. Default: 5,000.
    var blocks = 5_000
    /// Rounds of the backfill benchmark. Default: 3.
    var rounds = 3
    /// Traffic transactions per prebuilt devnet block (about 2 logs each). Default: 4.
    var transactionsPerBlock = 4
    /// Invocations of the wasm benchmark. Default: 20,000.
    var invocations = 20_000
    /// Gateway fan-out: one custom scenario's clients (default: the standard set), events/s,
    /// per-client address filters, the naive design, and the measured window.
    var clients: Int?
    var rate = 50
    var filtered = false
    var naive = false
    var bursts = false
    var batched = false
    /// Pipeline: the paced latency run instead of the throughput run.
    var paced = false
    /// Paced pipeline: blocks built before the run and published every this many milliseconds
    /// (the devnet's `--staged-blocks`), instead of live traffic mined once a second; 0 = live.
    var stagedBlockMilliseconds = 0
    /// Pipeline: the embedded log with `synchronous=NORMAL` instead of FULL.
    var normalDurability = false
    /// How the pipeline's roles encode records (`--encoding json|protobuf`, default json as `tributary dev`).
    var encoding = "json"
    /// Pipeline: the wasm host's batch size (`--host-batch`); nil for the role's default.
    var hostBatch: Int?
    /// Wasm: only the host role's rounds (JSON records), for profiling its own work (`--role-only`).
    var roleOnly = false
    var seconds = 10

    init(arguments: [String]) {
        var iterator = arguments.makeIterator()
        while let argument = iterator.next() {
            switch argument {
            case "--records": records = iterator.next().flatMap(Int.init) ?? records
            case "--soak-records": soakRecords = iterator.next().flatMap(Int.init) ?? soakRecords
            case "--record-bytes": recordBytes = iterator.next().flatMap(Int.init) ?? recordBytes
            case "--blocks": blocks = iterator.next().flatMap(Int.init) ?? blocks
            case "--rounds": rounds = max(1, iterator.next().flatMap(Int.init) ?? rounds)
            case "--txs-per-block": transactionsPerBlock = iterator.next().flatMap(Int.init) ?? transactionsPerBlock
            case "--invocations": invocations = iterator.next().flatMap(Int.init) ?? invocations
            case "--clients": clients = iterator.next().flatMap(Int.init)
            case "--rate": rate = iterator.next().flatMap(Int.init) ?? rate
            case "--filtered": filtered = true
            case "--naive": naive = true
            case "--bursts": bursts = true
            case "--batched": batched = true
            case "--paced": paced = true
            case "--staged-block-ms": stagedBlockMilliseconds = iterator.next().flatMap(Int.init) ?? 250
            case "--durability-normal": normalDurability = true
            case "--encoding": encoding = iterator.next() ?? encoding
            case "--role-only": roleOnly = true
            case "--host-batch": hostBatch = iterator.next().flatMap(Int.init).map { max(1, $0) }
            case "--seconds": seconds = iterator.next().flatMap(Int.init) ?? seconds
            default: print("ignoring unknown option \(argument)")
            }
        }
    }

    /// A JSON-ish value of `recordBytes` bytes, distinct per index.
    func value(_ index: Int) -> [UInt8] {
        var text = "{\"n\":\(index),\"pad\":\""
        text += String(repeating: "x", count: max(0, recordBytes - text.utf8.count - 2))
        text += "\"}"
        return Array(text.utf8)
    }
}

/// Times a block and reports records per second.
func measure(_ label: String, records: Int, _ body: () async throws -> Void) async rethrows -> Double {
    let start = ContinuousClock.now
    let cpuStart = processCPUSeconds()
    let faultsStart = processMinorFaults()
    try await body()
    let elapsed = ContinuousClock.now - start
    let cpu = processCPUSeconds() - cpuStart
    let faults = processMinorFaults() - faultsStart
    let seconds = elapsed.secondsValue
    let rate = Double(records) / seconds
    print(
        "\(label.padding(toLength: 58, withPad: " ", startingAt: 0)) \(String(format: "%10.0f", rate)) records/s  (\(records) in \(String(format: "%.3f", seconds)) s, CPU \(String(format: "%.3f", cpu)) s, \(faults) page faults)"
    )
    return rate
}

/// The middle value (the upper one of the two middles for an even count).
func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }

/// CPU time (user + system, every thread) this process has used, in seconds.
func processCPUSeconds() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec)
        + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1_000_000
}

/// Minor page faults this process has taken (first touches of memory it was given).
func processMinorFaults() -> Int {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return usage.ru_minflt
}

/// This process's resident set size in MiB, from /proc.
func residentMemoryMiB() -> Double {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
    for line in status.split(separator: "\n") where line.hasPrefix("VmRSS:") {
        let kilobytes = line.split(separator: " ").compactMap { Double($0) }.first ?? 0
        return kilobytes / 1024
    }
    return 0
}

/// The machine, for the record.
enum MachineDescription {
    static var current: String {
        let cpu =
            (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8))?
            .split(separator: "\n").first { $0.hasPrefix("model name") }?
            .split(separator: ":").last?.trimmingCharacters(in: .whitespaces) ?? "unknown CPU"
        let cores = ProcessInfo.processInfo.activeProcessorCount
        let memory = ProcessInfo.processInfo.physicalMemory / (1 << 30)
        return "\(cpu), \(cores) cores, \(memory) GiB"
    }
}

/// Events the benchmarks feed the roles.
enum BenchEvents {
    /// A decoded ERC-20 Transfer of 2,500,000 tokens (18 decimals).
    static func transfer() -> Tributary_V1_DecodedEvent {
        var decoded = Tributary_V1_DecodedEvent()
        decoded.name = "Transfer"
        decoded.signature = "Transfer(address,address,uint256)"
        for (name, value) in [
            ("from", "0x28c6c06298d514db089934071355e5743bf21d60"),
            ("to", "0xd8da6bf26964af9d7eed9e03e53415d37aa96045"),
            ("value", "2500000000000000000000000"),
        ] {
            var argument = Tributary_V1_DecodedArgument()
            argument.name = name
            argument.type = name == "value" ? "uint256" : "address"
            argument.indexed = name != "value"
            argument.value = Google_Protobuf_Value(stringValue: value)
            decoded.arguments.append(argument)
        }
        return decoded
    }
}
