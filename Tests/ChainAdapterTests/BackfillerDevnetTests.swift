import ChainAdapter
import EVM
import Foundation
import Synchronization
import Testing
import TributaryModel
import TributaryTesting

/// Backfill of a 1,000-block devnet chain under provider limits.
@Suite struct BackfillerDevnetTests {
    @Test func backfillYieldsExactlyTheNodesLogsOnceInOrderUnderProviderLimits() async throws {
        let devnet = try DevnetProcess(arguments: ["--prebuild-blocks", "1000"])
        defer { devnet.stop() }
        let pool = EndpointPool(endpoints: [JSONRPCEndpoint(url: devnet.httpURL)], maximumBackoff: .seconds(1))
        let client = ChainRPCClient(pool: pool)
        let head = try await client.blockNumber()
        #expect(head >= 1000)
        // What the node itself reports, in small plain requests.
        var expected: [RPCLog] = []
        for start in stride(from: UInt64(0), through: head, by: 100) {
            expected += try await client.logs(from: start, to: min(head, start + 99))
        }
        #expect(expected.count > 5_000)
        // Hosted-provider limits make the backfill split and shrink its ranges.
        _ = try await pool.call("devnet_setLogsLimits", [["maxResults": 800, "maxRange": 400]]) { $0 }
        let backfiller = Backfiller(
            client: client, chainID: "eip155:\(devnet.chainID)",
            configuration: .init(initialRange: 1_000, maximumInFlight: 3))
        let emitted = Mutex<[Tributary_V1_RawBlockRecord]>([])
        try await backfiller.run(0...head, status: { _ in .finalized }) { records in
            emitted.withLock { $0 += records }
        }
        let records = emitted.withLock { $0 }
        #expect(records.map(\.block.number) == records.map(\.block.number).sorted(), "blocks out of order")
        #expect(Set(records.map(\.block.number)).count == records.count, "a block was emitted twice")
        let actual = records.flatMap { record in
            record.logs.map {
                "\(record.block.number):\(record.block.hash):\($0.logIndex):\($0.transactionHash):\($0.data)"
            }
        }
        let want = expected.map { "\($0.blockNumber):\($0.blockHash):\($0.logIndex):\($0.transactionHash):\($0.data)" }
        #expect(actual == want)
        #expect(records.allSatisfy { $0.block.chainID == "eip155:\(devnet.chainID)" && $0.status == .finalized })
        await pool.shutdown()
    }
}
