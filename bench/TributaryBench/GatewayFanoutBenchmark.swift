import EventLog
import Foundation
import Gateway
import Logging
import NIOCore
import Synchronization
import TributaryModel
import TributaryTesting

/// WebSocket fan-out of the gateway: the server (gateway on the in-memory log plus a producer
/// appending canonical events at a fixed rate) runs in this process; the load client — N
/// WebSocket connections, each subscribed to events — runs as a child process
/// (`tributary-bench gateway-load`), on the same two cores. Latency is from the append to the
/// client's receipt (both read the wall clock; the event's blockTimestamp carries the append time
/// in nanoseconds).
enum GatewayFanoutBenchmark {
    struct Scenario {
        var label: String
        var clients: Int
        var rate: Int
        var filtered: Bool
        var sharedTail: Bool
        /// Events appended once a second (a block's worth) instead of every 10 ms.
        var bursts = false
        /// Clients ask for batched frames (`?frames=batched`).
        var batched = false
    }

    static func run(_ options: BenchOptions) async throws {
        let scenarios: [Scenario]
        if let clients = options.clients {
            scenarios = [
                Scenario(
                    label: "custom", clients: clients, rate: options.rate, filtered: options.filtered,
                    sharedTail: !options.naive, bursts: options.bursts, batched: options.batched)
            ]
        } else {
            scenarios = [
                Scenario(
                    label: "naive: a log reader per client", clients: 1_000, rate: 50, filtered: false,
                    sharedTail: false),
                Scenario(label: "shared tail", clients: 1_000, rate: 50, filtered: false, sharedTail: true),
                Scenario(
                    label: "shared tail (goal 250,000/s)", clients: 5_000, rate: 50, filtered: false, sharedTail: true),
                Scenario(
                    label: "shared tail, events in one block a second", clients: 5_000, rate: 50, filtered: false,
                    sharedTail: true, bursts: true),
                Scenario(
                    label: "the same, batched frames", clients: 5_000, rate: 50, filtered: false, sharedTail: true,
                    bursts: true, batched: true),
                Scenario(
                    label: "shared tail, own-address filter each", clients: 1_000, rate: 1_000, filtered: true,
                    sharedTail: true),
            ]
        }
        print(
            "## gateway WebSocket fan-out (\(options.seconds) s windows after 3 s warm-up; load client in a child process)"
        )
        print(
            "| scenario | clients | events/s | deliveries/s (target) | p50 ms | p99 ms | server CPU % | server RSS MiB | load client CPU % |"
        )
        print("|---|---|---|---|---|---|---|---|---|")
        for scenario in scenarios {
            try await measure(scenario, seconds: options.seconds)
        }
    }

    static func measure(_ scenario: Scenario, seconds: Int) async throws {
        let log = InMemoryEventLog()
        for topic in StandardTopic.all {
            try await log.createTopic(TopicConfiguration(name: topic.name, partitions: 3, compacted: topic.compacted))
        }
        let key = APIKeySecret.generate()
        var configuration = GatewayConfiguration(
            port: 0, adminKey: key, requestsPerSecond: 100_000, requestBurst: 100_000,
            connectionsPerKey: scenario.clients + 100, maxQueuedMessages: 100_000, maxQueuedAge: .seconds(30))
        configuration.sharedTail = scenario.sharedTail
        var logger = Logger(label: "bench-gateway")
        logger.logLevel = .error
        let (ports, portContinuation) = AsyncStream<Int>.makeStream()
        let gateway = GatewayService(
            log: log, configuration: configuration, logger: logger,
            onListening: { port in portContinuation.yield(port) })
        let server = Task { try await gateway.run() }
        defer { server.cancel() }
        var portIterator = ports.makeAsyncIterator()
        guard let port = await portIterator.next() else { throw DevnetError(reason: "the gateway did not start") }

        let child = Process()
        child.executableURL = URL(fileURLWithPath: CommandLine.arguments[0])
        child.arguments =
            [
                "gateway-load", "--port", "\(port)", "--clients", "\(scenario.clients)", "--seconds", "\(seconds)",
            ] + (scenario.filtered ? ["--filtered"] : []) + (scenario.batched ? ["--batched"] : [])
        // Large read buffers come from reused heap memory, not fresh mappings the kernel zeroes.
        child.environment = [
            "TRIBUTARY_BENCH_KEY": key,
            "GLIBC_TUNABLES": "glibc.malloc.mmap_threshold=67108864:glibc.malloc.trim_threshold=268435456",
        ]
        let output = Pipe()
        child.standardOutput = output
        try child.run()
        let lines = LineReader(output.fileHandleForReading)
        guard await lines.next(containing: "READY") != nil else { throw DevnetError(reason: "the load client failed") }

        let producer = Task {
            // Paced by the clock, not by sleeps after work, so the rate is what was asked for.
            var sequence = 0
            let tick: Duration = scenario.bursts ? .seconds(1) : .milliseconds(10)
            let perTick = Double(scenario.rate) * tick.secondsValue
            let start = ContinuousClock.now
            var ticks = 0
            while !Task.isCancelled {
                ticks += 1
                let count = Int((Double(ticks) * perTick).rounded(.down)) - sequence
                if count > 0 {
                    let now = UInt64(Date().timeIntervalSince1970 * 1e9)
                    var records: [OutgoingRecord] = []
                    for _ in 0..<count {
                        sequence += 1
                        let event = Self.event(sequence, sentAt: now, address: Self.address(sequence % 1_000))
                        records.append(
                            OutgoingRecord(
                                topic: StandardTopic.canonicalEvents.name, key: event.id,
                                value: try RecordEncoding.json.encode(event),
                                headers: [
                                    RecordHeader(name: RecordEncoding.headerName, text: RecordEncoding.json.contentType)
                                ]))
                    }
                    _ = try await log.append(records)
                }
                try await Task.sleep(until: start + tick * ticks, clock: .continuous)
            }
        }
        defer { producer.cancel() }
        try await Task.sleep(for: .seconds(3))
        let cpuBefore = processCPUSeconds()
        let started = ContinuousClock.now
        try await Task.sleep(for: .seconds(seconds))
        let cpu = (processCPUSeconds() - cpuBefore) / (ContinuousClock.now - started).secondsValue * 100
        let memory = residentMemoryMiB()
        guard let resultLine = await lines.next(containing: "RESULT") else {
            throw DevnetError(reason: "the load client did not report")
        }
        child.waitUntilExit()
        let fields = Dictionary(
            uniqueKeysWithValues: resultLine.split(separator: " ").dropFirst().compactMap { pair -> (String, String)? in
                let parts = pair.split(separator: "=", maxSplits: 1)
                return parts.count == 2 ? (String(parts[0]), String(parts[1])) : nil
            })
        let target = scenario.filtered ? scenario.rate * scenario.clients / 1_000 : scenario.rate * scenario.clients
        print(
            "| \(scenario.label) | \(scenario.clients) | \(scenario.rate) | \(fields["per_second"] ?? "?") (\(target)) | \(fields["p50_ms"] ?? "?") | \(fields["p99_ms"] ?? "?") | \(String(format: "%.0f", cpu)) | \(String(format: "%.0f", memory)) | \(fields["cpu_percent"] ?? "?") |"
        )
        if let connected = fields["connected"], connected != "\(scenario.clients)" {
            print(
                "  (only \(connected) of \(scenario.clients) clients connected; closed by the server: \(fields["closed"] ?? "?"))"
            )
        }
    }

    static func address(_ index: Int) -> String { "0x" + String(format: "%040x", index + 1) }

    /// A decoded ERC-20 Transfer like the processor writes (about 900 bytes of JSON).
    static func event(_ sequence: Int, sentAt: UInt64, address: String) -> Tributary_V1_CanonicalEvent {
        var event = Tributary_V1_CanonicalEvent()
        event.id = "eip155:1:0x\(String(format: "%064x", sequence)):0"
        event.chainID = "eip155:1"
        event.blockNumber = UInt64(sequence)
        event.blockHash = "0x" + String(repeating: "ab", count: 32)
        event.parentHash = "0x" + String(repeating: "cd", count: 32)
        event.blockTimestamp = sentAt
        event.transactionHash = "0x" + String(repeating: "ef", count: 32)
        event.address = address
        event.topics = [
            "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef",
            "0x00000000000000000000000028c6c06298d514db089934071355e5743bf21d60",
            "0x000000000000000000000000d8da6bf26964af9d7eed9e03e53415d37aa96045",
        ]
        event.data =
            "0x" + String(repeating: "0", count: 40)
            + "0000000000000000000000000000000000000000000211654585005212800000"
        event.status = .pending
        event.decoded = BenchEvents.transfer()
        return event
    }

}

/// Lines of a child's stdout, read on a background thread.
final class LineReader: Sendable {
    private let lines: AsyncStream<String>

    init(_ handle: FileHandle) {
        let (stream, continuation) = AsyncStream<String>.makeStream()
        lines = stream
        Thread {
            var buffer = Data()
            while true {
                let chunk = handle.availableData
                if chunk.isEmpty { break }
                buffer.append(chunk)
                while let newline = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                    continuation.yield(String(decoding: buffer[buffer.startIndex..<newline], as: UTF8.self))
                    buffer.removeSubrange(buffer.startIndex...newline)
                }
            }
            continuation.finish()
        }.start()
    }

    func next(containing marker: String) async -> String? {
        for await line in lines where line.contains(marker) { return line }
        return nil
    }
}
