import ChainAdapter
import EmbeddedLog
import EventLog
import Foundation
import Testing
import TributaryModel
import TributaryTesting

extension EndToEndTests {
    /// The embedded mode loses nothing when the whole `tributary dev` process is killed with
    /// SIGKILL and restarted, again and again, while ≥ 20,000 events flow; a reorg during the run
    /// retracts exactly the orphaned transfers.
    @Suite struct EmbeddedFaultToleranceTests {
        @Test func killedDevProcessResumesAndLosesNothing() async throws {
            let seed = UInt64.random(in: 1...UInt64.max)
            var random = SplitMix64(seed: seed)
            print("embedded fault tolerance: seed \(seed)")
            let devnet = try DevnetProcess(
                arguments: [
                    "--prebuild-blocks", String(3 * FaultToleranceTests.blocksPerChain), "--prebuild-txs-per-block",
                    String(FaultToleranceTests.transactionsPerBlock),
                ],
                timeout: .seconds(300))
            defer { devnet.stop() }
            let data = TemporaryDirectory()
            defer { data.remove() }
            let runner = try CommandRunner()
            let arguments =
                ["dev", "--data", data.path, "--set", "gateway.port=0"]
                + Pipeline.chainArguments(name: "devnet", devnet)
            // From the repository root: the first run deploys examples/build-out/large-transfer.wasm.
            func startDev() throws -> WatchedProcess {
                WatchedProcess(
                    name: "dev", try runner.start(arguments, workingDirectory: DevnetProcess.repositoryRoot.path))
            }
            var dev = try startDev()
            defer { dev.killHard() }
            _ = try await dev.waitFor("example: deployed function large-transfer")
            let client = ChainRPCClient(pool: EndpointPool(endpoints: [JSONRPCEndpoint(url: devnet.httpURL)]))
            let before = try await EndToEndTests.DistributedPipelineTests.expectedTransfers(devnet)
            let events = try await client.logs(from: 0, to: try await client.blockNumber()).count
            #expect(events >= 20_000)

            var kills = 0
            for _ in 0..<3 {
                try await Task.sleep(for: .milliseconds(Int.random(in: 1_000...4_000, using: &random)))
                dev.killHard()
                kills += 1
                dev = try startDev()
            }
            let log = try EmbeddedEventLog(configuration: EmbeddedLogConfiguration(directory: data.path))
            try await RawEventsView.waitUntilComplete(log: log, client: client)
            try await RawEventsView.control(
                devnet, "devnet_reorg", ["depth": 4, "newBlocks": 5, "replay": false, "txsPerBlock": 6])
            let after = try await EndToEndTests.DistributedPipelineTests.expectedTransfers(devnet)
            let orphaned = Set(before.keys).subtracting(after.keys)
            #expect(!orphaned.isEmpty, "the reorg should orphan transfers")
            try await Task.sleep(for: .milliseconds(Int.random(in: 200...2_000, using: &random)))
            dev.killHard()
            kills += 1
            dev = try startDev()

            let trigger = "large-transfer-erc20"
            let expected = Set(
                Set(before.keys).union(after.keys).map {
                    ResultCollector.invocationID(trigger: trigger, event: $0, retraction: false)
                } + orphaned.map { ResultCollector.invocationID(trigger: trigger, event: $0, retraction: true) })
            let results = try await ResultCollector.collect(from: log, covering: expected, timeout: .seconds(600)) {
                String(dev.text.suffix(3_000))
            }
            let invocations = Set(results.map(\.invocationID))
            #expect(invocations == expected, "\(invocations.subtracting(expected).count) unexpected invocations")
            #expect(results.allSatisfy { $0.status == .ok })
            try await log.shutdown()
            #expect(dev.interrupt() == 0, "dev did not stop cleanly:\n\(dev.text.suffix(2_000))")
            print(
                "embedded fault tolerance: \(events) events, \(expected.count) invocations (\(orphaned.count) retractions), "
                    + "\(kills) kills of the whole process, \(results.count - invocations.count) duplicate results")
        }
    }
}
