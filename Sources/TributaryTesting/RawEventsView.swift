import ChainAdapter
import EVM
import EventLog
import Foundation
import TributaryModel

/// What an adapter produced to `raw-events`, compared with what the node itself reports.
public enum RawEventsView {
    /// Every `raw-events` record in `log`, in order per partition.
    public static func records(in log: any EventLog) async throws -> [Tributary_V1_RawBlockRecord] {
        let reader = try await log.makeReader(topic: StandardTopic.rawEvents.name, from: .earliest)
        var records: [Tributary_V1_RawBlockRecord] = []
        while true {
            let batch = try await reader.poll(maxRecords: 10_000, timeout: .milliseconds(200))
            if batch.isEmpty { break }
            records += try batch.map {
                try RecordEncoding.decode(
                    Tributary_V1_RawBlockRecord.self, from: $0.value ?? [], contentType: $0.contentType)
            }
        }
        await reader.close()
        return records
    }

    /// The logs the records leave standing (retractions applied), as comparable lines
    /// `number:blockHash:logIndex:transactionHash`, in chain order; only `chain`'s when given.
    public static func view(_ records: [Tributary_V1_RawBlockRecord], chain: String? = nil) -> [String] {
        var live: [String: Tributary_V1_RawBlockRecord] = [:]
        for record in records where chain == nil || record.block.chainID == chain {
            if record.removed { live.removeValue(forKey: record.block.hash) } else { live[record.block.hash] = record }
        }
        return live.values.sorted { $0.block.number < $1.block.number }.flatMap { record in
            record.logs.map { "\(record.block.number):\(record.block.hash):\($0.logIndex):\($0.transactionHash)" }
        }
    }

    /// The same lines from the node's own `eth_getLogs` over blocks 0…head.
    public static func expected(_ client: ChainRPCClient) async throws -> [String] {
        var head: UInt64 = 0
        for attempt in 1... {
            do {
                head = try await client.blockNumber()
                break
            } catch is ChainAdapterError where attempt < 20 {
                try await Task.sleep(for: .milliseconds(100))
            }
        }
        var logs: [RPCLog] = []
        for start in stride(from: UInt64(0), through: head, by: 200) {
            // Tests inject failures into the node; the test's own reads ride them out too.
            for attempt in 1... {
                do {
                    logs += try await client.logs(from: start, to: min(head, start + 199))
                    break
                } catch is ChainAdapterError where attempt < 20 {
                    try await Task.sleep(for: .milliseconds(100))
                }
            }
        }
        return logs.map { "\($0.blockNumber):\($0.blockHash):\($0.logIndex):\($0.transactionHash)" }
    }

    /// Waits (up to two minutes; a deadline against hangs, not a performance check) until the records in `log` show exactly the node's logs.
    public static func waitUntilComplete(
        log: any EventLog, client: ChainRPCClient, chain: String? = nil
    )
        async throws
    {
        var last: (want: Int, have: Int) = (0, 0)
        for _ in 0..<600 {
            let want = try await expected(client)
            let have = view(try await records(in: log), chain: chain)
            if want == have { return }
            last = (want.count, have.count)
            try await Task.sleep(for: .milliseconds(200))
        }
        throw DevnetError(
            reason: "the produced logs never matched the node's: \(last.have) produced, \(last.want) expected")
    }

    /// Calls a devnet test control (`devnet_mine`, `devnet_reorg`, …).
    public static func control(_ devnet: DevnetProcess, _ method: String, _ params: [String: Any]) async throws {
        let pool = EndpointPool(endpoints: [JSONRPCEndpoint(url: devnet.httpURL)], maximumAttempts: 1)
        _ = try await pool.call(method, [params]) { $0 }
    }
}
