import ChainAdapter
import EmbeddedLog
import EventLog
import Foundation
import TributaryModel
import TributaryTesting

/// Backfill throughput on the devnet, side by side in one run: the adapter's backfill (adaptive
/// `eth_getLogs` ranges, 4 in flight, every header fetched for the bloom checks, JSON records
/// appended to the embedded log), a plain sequential loop of `eth_getLogs` calls at the node's
/// range limit (nothing else), and ethereum-etl (bench/peers/run-etl: blocks with transactions,
/// then every receipt). Rounds alternate to spread the machine's noise.
enum BackfillBenchmark {
    static func run(_ options: BenchOptions) async throws {
        let blocks = options.blocks
        let rangeLimit = 1_000
        print(
            "## backfill: devnet with \(blocks) prebuilt blocks of \(options.transactionsPerBlock) transactions, eth_getLogs capped at \(rangeLimit) blocks (a hosted provider's limit), \(options.rounds) rounds"
        )
        let started = ContinuousClock.now
        let devnet = try DevnetProcess(
            arguments: [
                "--prebuild-blocks", "\(blocks)", "--prebuild-txs-per-block", "\(options.transactionsPerBlock)",
                "--max-logs-range", "\(rangeLimit)",
            ],
            timeout: .seconds(3_600))
        defer { devnet.stop() }
        print("devnet ready in \(String(format: "%.0f", (ContinuousClock.now - started).secondsValue)) s")
        let pool = EndpointPool(endpoints: [JSONRPCEndpoint(url: devnet.httpURL)])
        let client = ChainRPCClient(pool: pool)
        let head = try await client.blockNumber()
        var results: [String: [(seconds: Double, logs: Int)]] = [:]
        var blocksWithLogs = 0
        var logCount = 0
        for first in stride(from: UInt64(0), through: head, by: rangeLimit) {
            let logs = try await client.logs(from: first, to: min(head, first + UInt64(rangeLimit) - 1))
            blocksWithLogs += Set(logs.map(\.blockNumber)).count
            logCount += logs.count
        }
        for round in 1...options.rounds {
            results["plain eth_getLogs loop", default: []].append(
                try await plainLoop(client, head: head, range: rangeLimit))
            results["tributary adapter backfill", default: []].append(
                try await adapterBackfill(devnet, blocksWithLogs: blocksWithLogs, logs: logCount))
            results["ethereum-etl", default: []].append(try ethereumETL(devnet.httpURL, head: head))
            print("round \(round) done")
        }
        let names = ["tributary adapter backfill", "plain eth_getLogs loop", "ethereum-etl"]
        var medians: [String: Double] = [:]
        for name in names {
            let runs = results[name] ?? []
            let seconds = runs.map(\.seconds).sorted()[runs.count / 2]
            medians[name] = seconds
            let logs = runs.first?.logs ?? 0
            print(
                "\(name.padding(toLength: 30, withPad: " ", startingAt: 0)) median \(String(format: "%7.3f", seconds)) s  \(String(format: "%9.0f", Double(logs) / seconds)) logs/s  \(String(format: "%8.0f", Double(head + 1) / seconds)) blocks/s  (\(logs) logs; runs: \(runs.map { String(format: "%.3f", $0.seconds) }.joined(separator: ", ")))"
            )
        }
        if let ours = medians[names[0]], let plain = medians[names[1]], let etl = medians[names[2]] {
            print(
                "ratio: adapter vs plain loop \(String(format: "%.2f", plain / ours)) (goal ≥ 0.80), adapter vs ethereum-etl \(String(format: "%.1f", etl / ours))× (goal ≥ 3×)"
            )
        }
    }

    /// The node's limit and nothing else: one range after the other.
    static func plainLoop(_ client: ChainRPCClient, head: UInt64, range: Int) async throws -> (Double, Int) {
        let start = ContinuousClock.now
        var logs = 0
        for first in stride(from: UInt64(0), through: head, by: range) {
            logs += try await client.logs(from: first, to: min(head, first + UInt64(range) - 1)).count
        }
        return ((ContinuousClock.now - start).secondsValue, logs)
    }

    /// The adapter role itself (`ChainAdapterService`, JSON records, a fresh embedded log), timed
    /// from its start until `raw-events` holds a record for every block with logs. Its reorg window
    /// is 2 blocks, so all but the last 2 blocks go through the backfill.
    static func adapterBackfill(_ devnet: DevnetProcess, blocksWithLogs: Int, logs: Int) async throws -> (Double, Int) {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let log = try await EmbeddedEventLog.open(configuration: EmbeddedLogConfiguration(directory: directory.path))
        try await log.createTopic(TopicConfiguration(name: StandardTopic.rawEvents.name))
        let service = ChainAdapterService(
            configuration: ChainAdapterConfiguration(
                name: "bench", chainID: devnet.chainID, endpoints: [JSONRPCEndpoint(url: devnet.httpURL)],
                start: .number(0), reorgWindow: 2, showsProgress: false),
            log: log)
        let start = ContinuousClock.now
        let task = Task { try await service.run() }
        while true {
            let produced = try await log.describeTopic(StandardTopic.rawEvents.name).partitions.reduce(Int64(0)) {
                $0 + $1.endOffset
            }
            if produced >= blocksWithLogs { break }
            try await Task.sleep(for: .milliseconds(2))
        }
        let seconds = (ContinuousClock.now - start).secondsValue
        task.cancel()
        _ = try? await task.value
        try await log.shutdown()
        return (seconds, logs)
    }

    /// bench/peers/run-etl, which prints one JSON line with its own wall time.
    static func ethereumETL(_ url: String, head: UInt64) throws -> (Double, Int) {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let process = Process()
        process.executableURL = DevnetProcess.repositoryRoot.appendingPathComponent("bench/peers/run-etl")
        process.arguments = [url, "0", "\(head)", directory.path]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0,
            let line = String(decoding: data, as: UTF8.self).split(separator: "\n").last,
            let json = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
            let seconds = json["seconds"] as? Double, let logs = json["logs"] as? Int
        else {
            throw DevnetError(reason: "run-etl failed: \(String(decoding: data, as: UTF8.self).suffix(500))")
        }
        return (seconds, logs)
    }
}
