import EventLog
import Foundation
import FunctionHost
import SwiftProtobuf
import TributaryModel
import TributaryTesting

/// Invocations/s of the C large-transfer example (examples/build) with fresh-state semantics: the
/// runtime alone on one worker and on every core, the wasm-host role end to end on the in-memory
/// log (queue to result), and wasmtime-py instantiating the same module afresh per call, in one run.
enum WasmBenchmark {
    static func run(_ options: BenchOptions) async throws {
        let count = options.invocations
        let root = DevnetProcess.repositoryRoot
        let path = root.appendingPathComponent("examples/build-out/large-transfer.wasm").path
        guard let module = FileManager.default.contents(atPath: path) else {
            throw DevnetError(reason: "\(path) is missing: run examples/build first")
        }
        print(
            "## wasm host: examples/large-transfer (C, \(module.count) bytes), fresh state per invocation, \(count) invocations"
        )
        var manifest = Tributary_V1_FunctionManifest()
        manifest.abi = .raw
        let function = try CompiledFunction(bytes: Array(module), manifest: manifest, policy: FunctionLimitPolicy())
        let input = FunctionHostService.input(for: request(id: "warm-up"), environment: [:])
        let runtime = FunctionRuntime()
        let first = runtime.execute(function, input: input)
        print(
            "output: \(String(decoding: first.output, as: UTF8.self)) (status \(first.status), fuel \(first.fuelUsed))")

        let cores = ProcessInfo.processInfo.activeProcessorCount
        if options.roleOnly {
            for _ in 1...options.rounds {
                _ = try await hostRole(module: Array(module), count: count, workers: cores, encoding: .json)
            }
            return
        }
        let memoryBefore = residentMemoryMiB()
        let single = await measure("runtime, 1 worker", records: count) {
            for _ in 0..<count { _ = runtime.execute(function, input: input) }
        }
        let pooled = {
            await measure("runtime, \(cores) workers (threads)", records: count) {
                let group = DispatchGroup()
                for worker in 0..<cores {
                    group.enter()
                    Thread {
                        for _ in stride(from: worker, to: count, by: cores) {
                            _ = runtime.execute(function, input: input)
                        }
                        group.leave()
                    }.start()
                }
                group.wait()
            }
        }
        _ = await pooled()
        print(
            "resident memory: \(String(format: "%.1f", memoryBefore)) MiB before, \(String(format: "%.1f", residentMemoryMiB())) MiB after \(2 * count) invocations; instances created: \(function.instancesCreated), reuse: \(function.notReusableReason ?? "from the snapshot")"
        )

        // Host overhead: the role (queue to result) against the runtime alone on the same
        // workers, measured next to each other in every round (this machine's speed drifts for
        // seconds at a time), the order alternating; the median of the per-round overheads, and
        // the overhead of all rounds' times together (the runtime's own speed varies by several
        // percent from round to round, so single rounds scatter).
        var overheads: [RecordEncoding: [Double]] = [:]
        var runtimeSeconds = 0.0
        var roleSeconds: [RecordEncoding: Double] = [:]
        for round in 1...options.rounds {
            var runtimeRate = 0.0
            var roleRates: [RecordEncoding: Double] = [:]
            let runtimeFirst = round % 2 == 1
            if runtimeFirst { runtimeRate = await pooled() }
            for encoding in [RecordEncoding.json, .protobuf] {
                roleRates[encoding] = try await hostRole(
                    module: Array(module), count: count, workers: cores, encoding: encoding)
            }
            if !runtimeFirst { runtimeRate = await pooled() }
            runtimeSeconds += Double(count) / runtimeRate
            for (encoding, rate) in roleRates {
                overheads[encoding, default: []].append(max(0, 1 - rate / runtimeRate))
                roleSeconds[encoding, default: 0] += Double(count) / rate
            }
        }
        for encoding in [RecordEncoding.json, .protobuf] {
            let perRound = overheads[encoding] ?? []
            let together = 1 - runtimeSeconds / (roleSeconds[encoding] ?? .infinity)
            print(
                "host overhead (queue to result, \(encoding.rawValue) records): median \(String(format: "%.0f", median(perRound) * 100))% of the run time over \(perRound.count) rounds (per round: \(perRound.map { String(format: "%.0f%%", $0 * 100) }.joined(separator: " "))); all rounds together \(String(format: "%.1f", together * 100))%"
            )
        }

        let inputFile = TemporaryDirectory()
        defer { inputFile.remove() }
        let inputPath = inputFile.appending("input.json")
        try Data(input).write(to: URL(fileURLWithPath: inputPath))
        let python = try shell(root.appendingPathComponent("bench/peers/setup-wasmtime").path, [])
        let peer = try shell(
            python.trimmingCharacters(in: .whitespacesAndNewlines),
            [root.appendingPathComponent("bench/peers/wasmtime_fresh.py").path, path, inputPath, "\(count)"])
        if let json = try? JSONSerialization.jsonObject(with: Data(peer.utf8)) as? [String: Any],
            let rate = json["per_second"] as? Double,
            let adjusted = json["per_second_without_python_overhead"] as? Double
        {
            print(
                "\("wasmtime-py 50.0.1, fresh Store + instance per call".padding(toLength: 58, withPad: " ", startingAt: 0)) \(String(format: "%10.0f", rate)) records/s  (\(String(format: "%.0f", adjusted))/s without Python's per-call overhead)"
            )
            print(
                "ratio: tributary 1 worker / wasmtime-py (overhead removed) = \(String(format: "%.2f", single / adjusted))"
            )
        } else {
            print("wasmtime-py peer failed: \(peer.prefix(300))")
        }
    }

    static func request(id: String) -> Tributary_V1_InvocationRequest {
        var request = Tributary_V1_InvocationRequest()
        request.invocationID = id
        request.functionName = "large-transfer"
        request.functionVersion = 1
        request.attempt = 1
        request.event.id = "eip155:1:0xab:3"
        request.event.address = "0x6b175474e89094c44da98b954eedeac495271d0f"
        request.event.decoded = BenchEvents.transfer()
        return request
    }

    /// The wasm-host role on the in-memory log, running: invocations queued, timed until every
    /// result is there.
    static func hostRole(module: [UInt8], count: Int, workers: Int, encoding: RecordEncoding) async throws -> Double {
        let log = InMemoryEventLog()
        for topic in StandardTopic.all {
            try await log.createTopic(TopicConfiguration(name: topic.name, partitions: 3, compacted: topic.compacted))
        }
        var function = Tributary_V1_FunctionRecord()
        function.name = "large-transfer"
        function.version = 1
        function.module = Data(module)
        function.moduleSha256 = "bench"
        function.manifest.abi = .raw
        let deployed = try RecordEncoding.json.encode(function)
        _ = try await log.append([
            OutgoingRecord(topic: StandardTopic.functions.name, key: "large-transfer", value: deployed),
            OutgoingRecord(topic: StandardTopic.functions.name, key: "large-transfer@1", value: deployed),
        ])
        func invocation(_ id: String) throws -> OutgoingRecord {
            OutgoingRecord(
                topic: StandardTopic.functionInvocations.name, key: id, value: try encoding.encode(request(id: id)),
                headers: [RecordHeader(name: RecordEncoding.headerName, text: encoding.contentType)])
        }
        let invocations = try (0..<count).map { try invocation("i-\($0)") }
        /// Waits until `count` invocations have their result (or dead letter).
        func handled(_ count: Int) async throws {
            while true {
                var handled = 0
                for topic in [StandardTopic.functionResults.name, StandardTopic.functionInvocationsDeadLetters.name] {
                    handled += try await log.describeTopic(topic).partitions.reduce(0) { $0 + Int($1.endOffset) }
                }
                if handled >= count { return }
                try await Task.sleep(for: .milliseconds(5))
            }
        }
        let service = FunctionHostService(
            log: log, configuration: .init(workers: workers, batchSize: 256, encoding: encoding))
        let task = Task { try await service.run() }
        // Queue to result on a running host, as the runtime rows time a warm runtime: the role has
        // loaded its functions, compiled the module and joined its group before the clock starts.
        _ = try await log.append([try invocation("warm-up")])
        try await handled(1)
        // The clock starts once the invocations are queued: the in-memory log makes one append
        // visible at once, so the host waits, idle, while the producer's append runs.
        let queueing = ContinuousClock.now
        _ = try await log.append(invocations)
        print(
            "  (queueing \(count) invocations took \(String(format: "%.3f", (ContinuousClock.now - queueing).secondsValue)) s, not timed)"
        )
        let rate = try await measure(
            "wasm-host role, queue to result, \(encoding.rawValue) records, \(workers) workers", records: count
        ) {
            try await handled(count + 1)
        }
        task.cancel()
        _ = try? await task.value
        let dead = try await log.describeTopic(StandardTopic.functionInvocationsDeadLetters.name)
        if dead.partitions.contains(where: { $0.endOffset > 0 }) { print("warning: dead letters") }
        return rate
    }

    private static func shell(_ executable: String, _ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }
}
