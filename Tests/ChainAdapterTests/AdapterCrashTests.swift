import ChainAdapter
import EmbeddedLog
import EventLog
import Foundation
import Testing
import TributaryModel
import TributaryTesting

/// `tributary dev` following a devnet is killed with SIGKILL mid-backfill, mid-tail and while the
/// chain reorganizes behind its back; after each restart nothing is missing and nothing produced
/// twice differs.
@Suite(.serialized) struct AdapterCrashTests {
    @Test func killMinusNineMidBackfillAndMidTailLeavesNoGapAndNoDifferingRecord() async throws {
        let devnet = try DevnetProcess(arguments: ["--prebuild-blocks", "400"])
        defer { devnet.stop() }
        let data = TemporaryDirectory()
        defer { data.remove() }
        let configuration = data.path + "/tributary.yaml"
        try """
        chains:
          devnet:
            chainId: \(devnet.chainID)
            rpc: [\(devnet.httpURL)]
            ws: \(devnet.webSocketURL)
            start: 0
            confirmations: 3
            reorgWindow: 32
            pollInterval: 200ms
            backfill:
              range: 2
              maxRange: 2
        """.write(toFile: configuration, atomically: true, encoding: .utf8)
        let runner = try CommandRunner()
        let arguments = [
            "dev", "--no-devnet", "--data", data.path + "/log", "--config", configuration, "--set", "gateway.port=0",
        ]
        let client = ChainRPCClient(pool: EndpointPool(endpoints: [JSONRPCEndpoint(url: devnet.httpURL)]))
        // Slow every eth_getLogs down (2 s each, 4 in flight, ~190 ranges) so the backfill is surely
        // under way when it is killed, however loaded the machine is.
        try await RawEventsView.control(
            devnet, "devnet_injectFailure",
            ["kind": "timeout", "method": "eth_getLogs", "count": NSNull(), "delayMs": 2_000])

        // 1. Mid-backfill.
        var dev = try runner.start(arguments)
        var output = dev.readOutputInBackground()
        try await waitForRecords(in: data.path + "/log", atLeast: 20)
        dev.killHard()
        _ = output.wait()
        let afterFirstKill = try await recordsInLog(data.path + "/log")
        #expect(afterFirstKill.count < 300, "the backfill should still have been running")
        try await RawEventsView.control(devnet, "devnet_clearFailures", [:])

        // 2. Restart, catch up, then kill while blocks keep coming.
        dev = try runner.start(arguments)
        output = dev.readOutputInBackground()
        try await waitUntilComplete(data.path + "/log", client)
        try await RawEventsView.control(devnet, "devnet_mine", ["blocks": 10, "txsPerBlock": 2])
        try await Task.sleep(for: .milliseconds(300))
        dev.killHard()
        _ = output.wait()

        // 3. While it is down the chain reorganizes: the restart must retract what it produced.
        try await RawEventsView.control(devnet, "devnet_reorg", ["depth": 6, "newBlocks": 7, "txsPerBlock": 1])
        let beforeRestart = try await recordsInLog(data.path + "/log").count
        dev = try runner.start(arguments)
        output = dev.readOutputInBackground()
        try await waitUntilComplete(data.path + "/log", client)
        kill(dev.process.processIdentifier, SIGTERM)
        let (_, stderr) = output.wait()
        dev.process.waitUntilExit()
        #expect(dev.process.terminationStatus == 0, "\(stderr.suffix(2_000))")

        let records = try await recordsInLog(data.path + "/log")
        #expect(records.dropFirst(beforeRestart).contains { $0.removed }, "the reorg while down was retracted")
        // Only blocks the chain no longer has are retracted, and no block's status goes backwards.
        for retraction in records.filter(\.removed) {
            let canonical = try await client.header(.number(retraction.block.number))
            #expect(canonical?.hash != retraction.block.hash, "block \(retraction.block.number) is canonical")
        }
        var statuses: [String: [Int]] = [:]
        for record in records where !record.removed {
            statuses[record.block.hash, default: []].append(record.status.rawValue)
        }
        #expect(statuses.values.allSatisfy { $0 == $0.sorted() }, "a status went backwards")
        // Produced twice (once before a crash, once after) means produced identically.
        var byState: [String: Tributary_V1_RawBlockRecord] = [:]
        for record in records {
            let state = "\(record.block.hash)/\(record.status)/\(record.removed)"
            if let earlier = byState[state] {
                #expect(earlier == record, "block \(record.block.number) was produced twice with different content")
            }
            byState[state] = record
        }
    }

    private func recordsInLog(_ directory: String) async throws -> [Tributary_V1_RawBlockRecord] {
        let log = try await EmbeddedEventLog.open(configuration: EmbeddedLogConfiguration(directory: directory))
        defer { Task { try? await log.shutdown() } }
        return try await RawEventsView.records(in: log)
    }

    /// Waits for `count` records, reading through one handle (reopening per poll is slow on a busy machine).
    private func waitForRecords(in directory: String, atLeast count: Int) async throws {
        for _ in 0..<1_200 where !FileManager.default.fileExists(atPath: directory + "/log.sqlite") {
            try await Task.sleep(for: .milliseconds(50))
        }
        let log = try await EmbeddedEventLog.open(configuration: EmbeddedLogConfiguration(directory: directory))
        defer { Task { try? await log.shutdown() } }
        for _ in 0..<1_200 {
            let topic = try? await log.describeTopic(StandardTopic.rawEvents.name)
            let produced = topic?.partitions.reduce(Int64(0)) { $0 + $1.endOffset } ?? 0
            if produced >= count { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw DevnetError(reason: "the adapter never produced \(count) records")
    }

    private func waitUntilComplete(_ directory: String, _ client: ChainRPCClient) async throws {
        try await waitForRecords(in: directory, atLeast: 1)
        let log = try await EmbeddedEventLog.open(configuration: EmbeddedLogConfiguration(directory: directory))
        do {
            try await RawEventsView.waitUntilComplete(log: log, client: client)
            try await log.shutdown()
        } catch {
            try? await log.shutdown()
            throw error
        }
    }
}
