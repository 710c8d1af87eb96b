import ChainAdapter
import EVM
import EmbeddedLog
import EventLog
import Foundation
import FunctionHost
import Gateway
import Logging
import Processor
import TributaryModel
import TributaryTesting

/// The whole pipeline on the embedded log, in one process as `tributary dev` runs it: devnet
/// blocks (prebuilt, so the node is not the limit) → adapter → `raw-events` → processor →
/// `canonical-events` → router → `function-invocations` → wasm-host (the example
/// `large-transfer` on every ERC-20 Transfer) → `function-results`. Reports sustained events/s
/// from start to the last result, and when each stage finished, which names the bottleneck.
enum PipelineBenchmark {
    static func run(_ options: BenchOptions) async throws {
        if options.paced { return try await runPaced(options) }
        print(
            "## pipeline (embedded): devnet with \(options.blocks) prebuilt blocks of \(options.transactionsPerBlock) transactions, every role in this process"
        )
        let devnet = try DevnetProcess(
            arguments: [
                "--prebuild-blocks", "\(options.blocks)", "--prebuild-txs-per-block", "\(options.transactionsPerBlock)",
            ],
            timeout: .seconds(3_600))
        defer { devnet.stop() }
        let client = ChainRPCClient(pool: EndpointPool(endpoints: [JSONRPCEndpoint(url: devnet.httpURL)]))
        let head = try await client.blockNumber()
        let logs = try await client.logs(from: 0, to: head)
        let transferTopic =
            "0x" + Hex.encode(Keccak256.hash(Array("Transfer(address,address,uint256)".utf8)), prefix: false)
        let transfers = logs.filter { $0.topics.count == 3 && $0.topics[0].lowercased() == transferTopic }.count
        print("devnet: \(head + 1) blocks, \(logs.count) events, \(transfers) ERC-20 transfers (one invocation each)")

        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("tributary-pipeline-\(UUID())")
        defer { try? FileManager.default.removeItem(at: directory) }
        let (log, services) = try await roles(
            following: devnet, in: directory, webSocket: false, durability: options.normalDurability ? .normal : .full,
            encoding: options.encoding == "protobuf" ? .protobuf : .json)
        let progress = try await AdapterProgress(log: log)
        let started = ContinuousClock.now
        let tasks = services.map { service in Task { try await service() } }
        // Stage completion: the last raw block record (the adapter emits the head block last; later
        // records are finality updates), every canonical event, invocation and result.
        var finished: [String: Duration] = [:]
        let stages: [(String, String, Int)] = [
            ("canonical-events", StandardTopic.canonicalEvents.name, logs.count),
            ("function-invocations", StandardTopic.functionInvocations.name, transfers),
            ("function-results", StandardTopic.functionResults.name, transfers),
        ]
        while finished.count < stages.count + 1 {
            if finished["raw-events"] == nil, try await progress.reached(head) {
                finished["raw-events"] = ContinuousClock.now - started
            }
            for (name, topic, target) in stages where finished[name] == nil {
                let count = try await log.describeTopic(topic).partitions.reduce(0) { $0 + Int($1.endOffset) }
                if count >= target { finished[name] = ContinuousClock.now - started }
            }
            guard ContinuousClock.now - started < .seconds(1_800) else {
                print("timed out; finished stages: \(finished.keys.sorted())")
                break
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        await progress.close()
        tasks.forEach { $0.cancel() }
        for task in tasks { _ = try? await task.value }
        try await log.shutdown()
        let total = finished["function-results"] ?? (ContinuousClock.now - started)
        for stage in ["raw-events", "canonical-events", "function-invocations", "function-results"] {
            let seconds = finished[stage]?.secondsValue ?? .nan
            print(
                "\(stage.padding(toLength: 22, withPad: " ", startingAt: 0)) complete after \(String(format: "%7.2f", seconds)) s  (\(String(format: "%8.0f", Double(logs.count) / seconds)) events/s)"
            )
        }
        print(
            "end to end: \(logs.count) events in \(String(format: "%.2f", total.secondsValue)) s = \(String(format: "%.0f", Double(logs.count) / total.secondsValue)) events/s; resident memory \(String(format: "%.0f", residentMemoryMiB())) MiB"
        )
    }

    /// An embedded log in `directory` with the example function and its trigger deployed, and
    /// the four pipeline roles over it following `devnet` from block 0.
    private static func roles(
        following devnet: DevnetProcess, in directory: URL, webSocket: Bool,
        durability: EmbeddedLogConfiguration.Durability, encoding: RecordEncoding
    ) async throws -> (EmbeddedEventLog, [@Sendable () async throws -> Void]) {
        let module = try Data(
            contentsOf: DevnetProcess.repositoryRoot.appendingPathComponent("examples/build-out/large-transfer.wasm"))
        let log = try await EmbeddedEventLog.open(
            configuration: EmbeddedLogConfiguration(directory: directory.path, durability: durability))
        for topic in StandardTopic.all {
            try await log.createTopic(TopicConfiguration(name: topic.name, partitions: 3, compacted: topic.compacted))
        }
        var manifest = Tributary_V1_FunctionManifest()
        manifest.abi = .raw
        manifest.environment = ["THRESHOLD": "1000000000000000000000"]
        let function = RegistryRecords.function(
            name: "large-transfer", version: 1, module: Array(module), manifest: manifest)
        var trigger = Tributary_V1_TriggerRecord()
        trigger.id = "large-transfer-erc20"
        trigger.functionName = "large-transfer"
        trigger.event = "erc20.Transfer"
        trigger.finality.instant = true
        _ = try await log.append(
            try RegistryRecords.appends(for: function, encoding: encoding)
                + [try RegistryRecords.append(for: trigger, encoding: encoding)])

        let abis = try ABIRegistryBuilder.configured([])
        let chain = ChainAdapterConfiguration(
            name: "devnet", chainID: devnet.chainID, endpoints: [JSONRPCEndpoint(url: devnet.httpURL)],
            webSocketURL: webSocket ? devnet.webSocketURL : nil, start: .number(0),
            confirmations: 4, pollInterval: .milliseconds(500))
        let services: [@Sendable () async throws -> Void] = [
            { try await ChainAdapterService(configuration: chain, log: log, encoding: encoding).run() },
            { try await ProcessorService(log: log, abis: abis, configuration: .init(encoding: encoding)).run() },
            { try await RouterService(log: log, abis: abis, configuration: .init(encoding: encoding)).run() },
            {
                var host = FunctionHostService.Configuration(encoding: encoding)
                if let batch = options.hostBatch { host.batchSize = batch }
                try await FunctionHostService(log: log, configuration: host).run()
            },
        ]
        return (log, services)
    }

    /// Latency at the rate the devnet sustains: blocks every second with `--rate` transactions/s
    /// of traffic, for `--seconds`. Per result: its record's append time minus the append time
    /// of the `raw-events` record that first carried its block (the adapter follows newHeads
    /// over WebSocket). Then the whole path as a client sees it: from `newHeads` at a WebSocket
    /// client of the devnet to the result at a WebSocket client of a gateway on the same log, and
    /// its two ends apart (the adapter's reaction, the gateway's hop).
    static func runPaced(_ options: BenchOptions) async throws {
        let devnet: DevnetProcess
        if options.stagedBlockMilliseconds > 0 {
            // Blocks built before the run and published at the pace: rates the devnet cannot
            // execute live next to Tributary on two cores.
            let blockTime = Double(options.stagedBlockMilliseconds) / 1_000
            let perBlock = max(1, Int((Double(options.rate) * blockTime).rounded()))
            let blocks = Int((Double(options.seconds) / blockTime).rounded(.up)) + 4
            print(
                "## pipeline latency (embedded): \(blocks) staged blocks of \(perBlock) transactions published every \(options.stagedBlockMilliseconds) ms (\(options.rate) transactions/s), \(options.seconds) s"
            )
            devnet = try DevnetProcess(
                arguments: [
                    "--block-time", "\(blockTime)", "--staged-blocks", "\(blocks)", "--prebuild-txs-per-block",
                    "\(perBlock)",
                ],
                timeout: .seconds(3_600))
        } else {
            print(
                "## pipeline latency (embedded): devnet mining every 1 s with \(options.rate) transactions/s of traffic, \(options.seconds) s"
            )
            devnet = try DevnetProcess(arguments: ["--block-time", "1", "--traffic", "\(options.rate)"])
        }
        defer { devnet.stop() }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("tributary-pipeline-\(UUID())")
        defer { try? FileManager.default.removeItem(at: directory) }
        let (log, services) = try await roles(
            following: devnet, in: directory, webSocket: true, durability: options.normalDurability ? .normal : .full,
            encoding: options.encoding == "protobuf" ? .protobuf : .json)
        // A gateway on the same log and two WebSocket clients: one hears of each block as the
        // adapter does (newHeads), one receives every result, as a browser would.
        let key = APIKeySecret.generate()
        var gatewayLogger = Logger(label: "bench-gateway")
        gatewayLogger.logLevel = .error
        let (ports, portContinuation) = AsyncStream<Int>.makeStream()
        let gateway = GatewayService(
            log: log, configuration: GatewayConfiguration(port: 0, adminKey: key), logger: gatewayLogger,
            onListening: { port in portContinuation.yield(port) })
        let gatewayTask = Task { try await gateway.run() }
        var portIterator = ports.makeAsyncIterator()
        guard let port = await portIterator.next() else { throw DevnetError(reason: "the gateway did not start") }
        let watch = PipelineWebSocketWatch()
        watch.start(devnetURL: devnet.webSocketURL, gatewayPort: port, key: key)
        let tasks = services.map { service in Task { try await service() } }
        let watchDeadline = ContinuousClock.now + .seconds(30)
        while !watch.ready, ContinuousClock.now < watchDeadline { try await Task.sleep(for: .milliseconds(10)) }
        // Blocks announced in the first second after that are the roles' warm-up.
        let measuredFrom = PipelineWebSocketWatch.now() + 1_000
        try await Task.sleep(for: .seconds(options.seconds))
        devnet.stop()
        try await Task.sleep(for: .seconds(3))  // drain what the last blocks started
        watch.stop()
        gatewayTask.cancel()
        _ = try? await gatewayTask.value
        tasks.forEach { $0.cancel() }
        for task in tasks { _ = try? await task.value }

        var blockAppended: [String: Int64] = [:]
        var events = 0
        for record in try await readAll(StandardTopic.rawEvents.name, from: log) {
            let raw = try RecordEncoding.decode(
                Tributary_V1_RawBlockRecord.self, from: record.value ?? [], contentType: record.contentType)
            if !raw.removed, blockAppended[raw.block.hash.lowercased()] == nil {
                blockAppended[raw.block.hash.lowercased()] = record.timestampMilliseconds
                events += raw.logs.count
            }
        }
        // First append time per event id in the middle stages (both are keyed by event id).
        var firstAppended: [String: [String: Int64]] = [:]
        for topic in [StandardTopic.canonicalEvents.name, StandardTopic.functionInvocations.name] {
            for record in try await readAll(topic, from: log) {
                let key = String(decoding: record.key ?? [], as: UTF8.self)
                if firstAppended[topic, default: [:]][key] == nil {
                    firstAppended[topic, default: [:]][key] = record.timestampMilliseconds
                }
            }
        }
        var latencies: [Int64] = []
        var stageLatencies: [String: [Int64]] = [:]
        var resultAppended: [String: Int64] = [:]
        for record in try await readAll(StandardTopic.functionResults.name, from: log) {
            let result = try RecordEncoding.decode(
                Tributary_V1_InvocationResult.self, from: record.value ?? [], contentType: record.contentType)
            // Event ids are `<namespace>:<reference>:<blockHash>:<logIndex>`.
            let parts = result.eventID.split(separator: ":")
            guard parts.count == 4, let appended = blockAppended[String(parts[2])] else { continue }
            latencies.append(record.timestampMilliseconds - appended)
            resultAppended[result.eventID] = resultAppended[result.eventID] ?? record.timestampMilliseconds
            if let canonical = firstAppended[StandardTopic.canonicalEvents.name]?[result.eventID],
                let invocation = firstAppended[StandardTopic.functionInvocations.name]?[result.eventID]
            {
                stageLatencies["processor", default: []].append(canonical - appended)
                stageLatencies["router", default: []].append(invocation - canonical)
                stageLatencies["wasm-host", default: []].append(record.timestampMilliseconds - invocation)
            }
        }
        try await log.shutdown()
        latencies.sort()
        guard !latencies.isEmpty else { return print("no results") }
        func percentile(_ values: [Int64], _ p: Double) -> Int64 {
            let sorted = values.sorted()
            return sorted.isEmpty ? 0 : sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))]
        }
        func percentile(_ p: Double) -> Int64 { percentile(latencies, p) }
        for stage in ["processor", "router", "wasm-host"] {
            let values = stageLatencies[stage] ?? []
            print("  \(stage): p50 \(percentile(values, 0.5)) ms, p99 \(percentile(values, 0.99)) ms")
        }
        print(
            "\(events) events (\(String(format: "%.0f", Double(events) / Double(options.seconds))) events/s), \(latencies.count) results; raw-events append → result append: p50 \(percentile(0.5)) ms, p99 \(percentile(0.99)) ms, max \(latencies.last ?? 0) ms"
        )
        let heads = watch.heads
        let results = watch.results
        let delivered = results.compactMap { event, received -> Int64? in
            let parts = event.split(separator: ":")
            guard parts.count == 4, let announced = heads[String(parts[2]).lowercased()], announced >= measuredFrom
            else { return nil }
            return received - announced
        }
        print(
            "newHeads at a client → result on a WebSocket client (blocks after warm-up, \(delivered.count) results): p50 \(percentile(delivered, 0.5)) ms, p99 \(percentile(delivered, 0.99)) ms, max \(delivered.max() ?? 0) ms"
        )
        // The two ends of that path, apart: the adapter's reaction and the gateway's hop.
        let adapterSpans = blockAppended.compactMap { hash, appended -> Int64? in
            guard let announced = heads[hash], announced >= measuredFrom else { return nil }
            return appended - announced
        }
        let gatewaySpans = results.compactMap { event, received -> Int64? in
            guard let appended = resultAppended[event], appended >= measuredFrom else { return nil }
            return received - appended
        }
        print(
            "  newHeads at a client → raw-events append (\(adapterSpans.count) blocks): p50 \(percentile(adapterSpans, 0.5)) ms, p99 \(percentile(adapterSpans, 0.99)) ms; result append → WebSocket client: p50 \(percentile(gatewaySpans, 0.5)) ms, p99 \(percentile(gatewaySpans, 0.99)) ms"
        )
    }

    /// Every record of `topic`.
    private static func readAll(_ topic: String, from log: any EventLog) async throws -> [LogRecord] {
        let reader = try await log.makeReader(topic: topic, from: .earliest)
        var records: [LogRecord] = []
        while true {
            let batch = try await reader.poll(maxRecords: 10_000, timeout: .milliseconds(200))
            if batch.isEmpty { break }
            records += batch
        }
        await reader.close()
        return records
    }

    /// Follows `raw-events` and tells when the adapter has emitted block `head`.
    private final class AdapterProgress {
        private let reader: any LogReader
        private(set) var highest: UInt64 = 0

        init(log: any EventLog) async throws {
            reader = try await log.makeReader(topic: StandardTopic.rawEvents.name, from: .earliest)
        }

        func reached(_ head: UInt64) async throws -> Bool {
            for record in try await reader.poll(maxRecords: 1_000, timeout: .milliseconds(1)) {
                let raw = try RecordEncoding.decode(
                    Tributary_V1_RawBlockRecord.self, from: record.value ?? [], contentType: record.contentType)
                highest = max(highest, raw.block.number)
            }
            return highest >= head
        }

        func close() async { await reader.close() }
    }
}
