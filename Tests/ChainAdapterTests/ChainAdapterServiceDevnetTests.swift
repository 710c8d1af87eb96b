import ChainAdapter
import EVM
import EventLog
import Foundation
import Testing
import TributaryModel
import TributaryTesting

/// The adapter role against the real devnet: backfill, live tail, reorgs, finality, injected
/// failures and a dead endpoint — checked by comparing what it produced with the node's own
/// `eth_getLogs`.
@Suite(.serialized) struct ChainAdapterServiceDevnetTests {
    @Test func backfillThenTailYieldEveryLogOnceInOrderAndFinalityTransitions() async throws {
        let devnet = try DevnetProcess(arguments: ["--prebuild-blocks", "1000"])
        defer { devnet.stop() }
        let harness = try await AdapterHarness(
            devnet: devnet,
            configure: {
                $0.reorgWindow = 64
                $0.backfill = .init(initialRange: 200, maximumInFlight: 3)
            })
        defer { harness.stop() }
        try await harness.waitUntilComplete()
        let records = try await harness.records()
        let firstEmissions = records.filter { !$0.removed }.uniqued(by: \.block.hash)
        #expect(!records.contains { $0.removed }, "nothing was reorganized")
        #expect(
            firstEmissions.map(\.block.number) == firstEmissions.map(\.block.number).sorted(),
            "blocks were first produced out of order")
        // Backfilled blocks below the finalized tag arrive finalized; newer ones move on.
        try await harness.control("devnet_setFinalityLag", ["lag": 0])
        try await harness.control("devnet_mine", ["blocks": 1])
        try await harness.waitUntil("every block is finalized") { records in
            Dictionary(records.map { ($0.block.hash, $0.status) }, uniquingKeysWith: { $1 }).values.allSatisfy {
                $0 == .finalized
            }
        }
        let all = try await harness.records()
        var statusOrder: [String: [Tributary_V1_FinalityStatus]] = [:]
        for record in all { statusOrder[record.block.hash, default: []].append(record.status) }
        #expect(statusOrder.values.allSatisfy { $0 == $0.sorted { $0.rawValue < $1.rawValue } })
        #expect(
            statusOrder.values.contains { $0 == [.pending, .confirmed, .finalized] },
            "tail blocks move through every status")
        #expect(all.allSatisfy { $0.source == "eip155:\(devnet.chainID)/devnet" })
    }

    @Test(arguments: 1...10) func reorgAtTheHeadRetractsExactlyTheOrphanedLogsThenProducesTheNewBranch(
        depth: Int
    )
        async throws
    {
        let devnet = try DevnetProcess()
        defer { devnet.stop() }
        try await AdapterHarness.mine(devnet, blocks: 20)
        let harness = try await AdapterHarness(devnet: devnet) { $0.confirmations = 3 }
        defer { harness.stop() }
        try await harness.waitUntilComplete()
        // The blocks about to be orphaned, as the node reported them.
        let client = harness.client
        let head = try await client.blockNumber()
        var orphaned: [(hash: String, logs: [String])] = []
        for number in ((head - UInt64(depth) + 1)...head).reversed() {
            let header = try #require(try await client.header(.number(number)))
            let logs = try await client.logs(blockHash: header.hash)
            if !logs.isEmpty { orphaned.append((header.hash, logs.map(\.transactionHash))) }
        }
        #expect(!orphaned.isEmpty)
        let mark = try await harness.records().count
        try await harness.control("devnet_reorg", ["depth": depth, "newBlocks": depth + 1, "txsPerBlock": 1])
        try await harness.waitUntilComplete()
        let after = Array(try await harness.records().dropFirst(mark))
        let retractions = after.filter(\.removed)
        #expect(
            retractions.map(\.block.hash) == orphaned.map(\.hash), "one retraction per orphaned block, newest first")
        #expect(retractions.map { $0.logs.map(\.transactionHash) } == orphaned.map(\.logs))
        let lastRetraction = after.lastIndex(where: \.removed)
        let firstNewBranch = after.firstIndex { !$0.removed && $0.status == .pending }
        #expect(lastRetraction != nil && firstNewBranch != nil)
        #expect((lastRetraction ?? 0) < (firstNewBranch ?? 0), "retractions come before the new branch")
    }

    @Test func survivesEveryInjectedFailureDuringBackfillAndTail() async throws {
        let devnet = try DevnetProcess(arguments: ["--prebuild-blocks", "200"])
        defer { devnet.stop() }
        let failures: [[String: Any]] = [
            ["kind": "http429", "method": "eth_getLogs", "count": 3, "retryAfter": 1],
            ["kind": "limitExceeded", "method": "eth_getLogs", "count": 3],
            ["kind": "malformed", "method": "eth_getBlockByNumber", "count": 3],
            ["kind": "timeout", "method": "eth_getLogs", "count": 2, "delayMs": 3_000],
            ["kind": "error", "method": "eth_getBlockByNumber", "count": 2, "message": "internal error"],
        ]
        for failure in failures { try await AdapterHarness.control(devnet, "devnet_injectFailure", failure) }
        let harness = try await AdapterHarness(devnet: devnet) {
            $0.reorgWindow = 32
            $0.requestTimeout = .seconds(1)
            $0.backfill = .init(initialRange: 50)
        }
        defer { harness.stop() }
        try await harness.waitUntilComplete()
        // The same failures while following the head, plus dropped WebSockets.
        for failure in failures { try await harness.control("devnet_injectFailure", failure) }
        try await harness.control("devnet_dropWebSockets", [:])
        try await AdapterHarness.mine(devnet, blocks: 5)
        try await harness.control("devnet_injectFailure", ["kind": "dropWebSockets", "method": "eth_blockNumber"])
        _ = try? await harness.client.blockNumber()
        try await AdapterHarness.mine(devnet, blocks: 5)
        try await harness.waitUntilComplete()
        let records = try await harness.records()
        #expect(!records.contains { $0.removed })
    }

    @Test func losesNothingWithOneOfTwoEndpointsDead() async throws {
        let devnet = try DevnetProcess(arguments: ["--prebuild-blocks", "150"])
        defer { devnet.stop() }
        let harness = try await AdapterHarness(devnet: devnet) {
            $0.endpoints = [JSONRPCEndpoint(url: "http://127.0.0.1:1"), JSONRPCEndpoint(url: devnet.httpURL)]
            $0.webSocketURL = nil
            $0.reorgWindow = 32
            $0.pollInterval = .milliseconds(100)
        }
        defer { harness.stop() }
        try await harness.waitUntilComplete()
        try await AdapterHarness.mine(devnet, blocks: 10)
        try await harness.waitUntilComplete()
    }

    @Test func followsTwoChainsInOneProcessEachOnItsOwnKey() async throws {
        let first = try DevnetProcess(arguments: ["--prebuild-blocks", "60"])
        defer { first.stop() }
        let second = try DevnetProcess(arguments: ["--prebuild-blocks", "60", "--chain-id", "10"])
        defer { second.stop() }
        let log = InMemoryEventLog()
        try await log.createTopic(TopicConfiguration(name: StandardTopic.rawEvents.name))
        var tasks: [Task<Void, any Error>] = []
        for devnet in [first, second] {
            let service = ChainAdapterService(
                configuration: .init(
                    name: "chain\(devnet.chainID)", chainID: devnet.chainID,
                    endpoints: [JSONRPCEndpoint(url: devnet.httpURL)], webSocketURL: devnet.webSocketURL,
                    start: .number(0), reorgWindow: 16, pollInterval: .milliseconds(250), showsProgress: false),
                log: log)
            tasks.append(Task { try await service.run() })
        }
        defer { tasks.forEach { $0.cancel() } }
        for devnet in [first, second] {
            let client = ChainRPCClient(pool: EndpointPool(endpoints: [JSONRPCEndpoint(url: devnet.httpURL)]))
            try await RawEventsView.waitUntilComplete(log: log, client: client, chain: "eip155:\(devnet.chainID)")
        }
        let reader = try await log.makeReader(topic: StandardTopic.rawEvents.name, from: .earliest)
        var partitionsByChain: [String: Set<Int>] = [:]
        while true {
            let batch = try await reader.poll(maxRecords: 10_000, timeout: .milliseconds(200))
            if batch.isEmpty { break }
            for record in batch {
                let raw = try RecordEncoding.decode(
                    Tributary_V1_RawBlockRecord.self, from: record.value ?? [], contentType: record.contentType)
                #expect(record.key == Array(raw.block.chainID.utf8), "keyed by the CAIP-2 chain id")
                partitionsByChain[raw.block.chainID, default: []].insert(record.partition)
            }
        }
        await reader.close()
        #expect(partitionsByChain.keys.sorted() == ["eip155:10", "eip155:31337"])
        #expect(partitionsByChain.values.allSatisfy { $0.count == 1 }, "each chain's records stay on one partition")
    }

    @Test func refusesAnotherChain() async throws {
        let devnet = try DevnetProcess()
        defer { devnet.stop() }
        let log = InMemoryEventLog()
        try await log.createTopic(TopicConfiguration(name: StandardTopic.rawEvents.name))
        let service = ChainAdapterService(
            configuration: .init(name: "wrong", chainID: 1, endpoints: [JSONRPCEndpoint(url: devnet.httpURL)]),
            log: log)
        let error = await #expect(throws: ChainAdapterError.self) { try await service.run() }
        #expect(error?.code == .wrongChain)
        #expect(error?.description.contains("chain id 31337, not the configured 1") == true)
    }
}

/// A ``ChainAdapterService`` on an in-memory log, following a devnet.
final class AdapterHarness: Sendable {
    let log = InMemoryEventLog()
    let devnet: DevnetProcess
    let client: ChainRPCClient
    private let task: Task<Void, any Error>

    init(devnet: DevnetProcess, configure: (inout ChainAdapterConfiguration) -> Void = { _ in }) async throws {
        self.devnet = devnet
        client = ChainRPCClient(pool: EndpointPool(endpoints: [JSONRPCEndpoint(url: devnet.httpURL)]))
        try await log.createTopic(TopicConfiguration(name: StandardTopic.rawEvents.name))
        var configuration = ChainAdapterConfiguration(
            name: "devnet", chainID: devnet.chainID, endpoints: [JSONRPCEndpoint(url: devnet.httpURL)],
            webSocketURL: devnet.webSocketURL, start: .number(0), confirmations: 4, reorgWindow: 128,
            pollInterval: .milliseconds(250), showsProgress: false)
        configure(&configuration)
        let service = ChainAdapterService(configuration: configuration, log: log)
        task = Task { try await service.run() }
    }

    func stop() { task.cancel() }

    /// Every record produced so far, in order.
    func records() async throws -> [Tributary_V1_RawBlockRecord] {
        try await RawEventsView.records(in: log)
    }

    /// Waits until the produced records show exactly the node's logs.
    func waitUntilComplete() async throws {
        try await RawEventsView.waitUntilComplete(log: log, client: client)
    }

    /// Waits until `condition` holds for the records produced.
    func waitUntil(_ what: String, _ condition: ([Tributary_V1_RawBlockRecord]) -> Bool) async throws {
        for _ in 0..<600 {
            if condition(try await records()) { return }
            try await Task.sleep(for: .milliseconds(200))
        }
        Issue.record("never happened: \(what)")
        throw CancellationError()
    }

    func control(_ method: String, _ params: [String: Any]) async throws {
        try await Self.control(devnet, method, params)
    }

    static func control(_ devnet: DevnetProcess, _ method: String, _ params: [String: Any]) async throws {
        try await RawEventsView.control(devnet, method, params)
    }

    static func mine(_ devnet: DevnetProcess, blocks: Int) async throws {
        try await control(devnet, "devnet_mine", ["blocks": blocks, "txsPerBlock": 2])
    }
}

extension Array {
    fileprivate func uniqued(by key: (Element) -> String) -> [Element] {
        var seen: Set<String> = []
        return filter { seen.insert(key($0)).inserted }
    }
}
