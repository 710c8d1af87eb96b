import EventLog
import Foundation
import KafkaLog
import Synchronization
import TributaryTesting

/// Produce and consume throughput of the Kafka log on librdkafka's mock cluster (3 brokers in
/// this process), next to raw librdkafka through the same mock: the ceiling our wrapper should
/// approach.
enum KafkaLogBenchmark {
    static func run(_ options: BenchOptions) async throws {
        print(
            "## Kafka log on the librdkafka mock cluster (3 brokers, topic of 3 partitions RF 3), \(options.recordBytes)-byte records"
        )
        let records = options.records
        let keyed = (0..<records).map {
            OutgoingRecord(topic: "bench", key: "key-\($0 % 1000)", value: options.value($0))
        }
        try await compareWithRaw(keyed, rounds: options.rounds)
        try await appendShapes(keyed)
        try await consume(options)
    }

    /// The produce comparison: raw librdkafka and the wrapper produce the same records with the
    /// same settings, each measurement on a fresh cluster, the order alternating between rounds
    /// so neither side always runs first; medians over the rounds. The wrapper runs as roles
    /// do (16 appends of 1000 in flight) and as one append of everything.
    private static func compareWithRaw(_ keyed: [OutgoingRecord], rounds: Int) async throws {
        let records = keyed.count
        func freshCluster() async throws -> KafkaTestCluster {
            let cluster = try KafkaTestCluster()
            try await cluster.createTopic(TopicConfiguration(name: "bench", partitions: 3))
            return cluster
        }
        func raw(_ round: Int) async throws -> Double {
            let cluster = try await freshCluster()
            var configuration = cluster.configuration
            configuration.linger = .milliseconds(5)
            let cpuStart = processCPUSeconds()
            let outcome = try await RawKafkaProducerBaseline.produce(keyed, configuration: configuration)
            let cpu = processCPUSeconds() - cpuStart
            await cluster.close()
            let rate = Double(outcome.delivered) / outcome.elapsed.secondsValue
            print(
                "\("raw librdkafka produce (round \(round))".padding(toLength: 58, withPad: " ", startingAt: 0)) \(String(format: "%10.0f", rate)) records/s  (\(outcome.delivered) delivered, \(outcome.failed) failed, CPU \(String(format: "%.3f", cpu)) s)"
            )
            return rate
        }
        func wrapped(
            _ label: String, _ body: @escaping @Sendable (KafkaEventLog) async throws -> Void
        ) async throws
            -> Double
        {
            let cluster = try await freshCluster()
            let log = try cluster.openLog { $0.linger = .milliseconds(5) }
            let rate = try await measure(label, records: records) { try await body(log) }
            try await log.shutdown()
            await cluster.close()
            return rate
        }
        // Built before timing, as the raw loop's input is.
        let batches = stride(from: 0, to: records, by: 1000).map { Array(keyed[$0..<min(records, $0 + 1000)]) }
        let concurrent: @Sendable (KafkaEventLog) async throws -> Void = { log in
            try await withThrowingTaskGroup(of: Void.self) { group in
                for producer in 0..<16 {
                    group.addTask {
                        for batch in stride(from: producer, to: batches.count, by: 16) {
                            _ = try await log.append(batches[batch])
                        }
                    }
                }
                try await group.waitForAll()
            }
        }
        var rawRates: [Double] = []
        var concurrentRates: [Double] = []
        var oneBatchRates: [Double] = []
        for round in 1...rounds {
            if round % 2 == 1 { rawRates.append(try await raw(round)) }
            concurrentRates.append(
                try await wrapped("KafkaEventLog append, 16 producers of 1000 (round \(round))", concurrent))
            oneBatchRates.append(
                try await wrapped("KafkaEventLog append, one batch of all (round \(round))") { log in
                    _ = try await log.append(keyed)
                })
            if round % 2 == 0 { rawRates.append(try await raw(round)) }
        }
        // This machine drifts between a fast and a slow mode for seconds at a time, so each
        // round's wrapper rates are divided by the same round's raw rate.
        let concurrentRatios = zip(concurrentRates, rawRates).map { $0 / $1 }
        let oneBatchRatios = zip(oneBatchRates, rawRates).map { $0 / $1 }
        print(
            "per-round ratios, 16 producers: "
                + concurrentRatios.map { String(format: "%.2f", $0) }.joined(separator: " ")
                + "; one batch: " + oneBatchRatios.map { String(format: "%.2f", $0) }.joined(separator: " "))
        print(
            String(
                format:
                    "medians over %d rounds: raw %.0f, 16 producers %.0f, one batch %.0f; median ratio 16 producers %.2f, one batch %.2f",
                rounds, median(rawRates), median(concurrentRates), median(oneBatchRates), median(concurrentRatios),
                median(oneBatchRatios)))
    }

    /// How batch size and concurrency shape the wrapper's rate (one cluster, one log).
    private static func appendShapes(_ keyed: [OutgoingRecord]) async throws {
        let records = keyed.count
        let cluster = try KafkaTestCluster()
        try await cluster.createTopic(TopicConfiguration(name: "bench", partitions: 3))
        let log = try cluster.openLog { $0.linger = .milliseconds(5) }
        _ = try await measure("KafkaEventLog append, batch 1000, 1 producer", records: records) {
            var index = 0
            while index < records {
                let end = min(records, index + 1000)
                _ = try await log.append(Array(keyed[index..<end]))
                index = end
            }
        }
        _ = try await measure("KafkaEventLog append, batch 1000, 4 producers", records: records) {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for producer in 0..<4 {
                    group.addTask {
                        for start in stride(from: producer * 1000, to: records, by: 4 * 1000) {
                            _ = try await log.append(Array(keyed[start..<min(records, start + 1000)]))
                        }
                    }
                }
                try await group.waitForAll()
            }
        }
        for batch in [1, 10, 100] {
            let count = batch == 1 ? 2_000 : batch == 10 ? 20_000 : min(records, 100_000)
            _ = try await measure("KafkaEventLog append, batch \(batch), 1 producer", records: count) {
                var index = 0
                while index < count {
                    let end = min(count, index + batch)
                    _ = try await log.append(Array(keyed[index..<end]))
                    index = end
                }
            }
        }
        try await log.shutdown()
        await cluster.close()
    }

    /// The mock keeps 5 MiB per partition, so the consume run stays below that.
    private static func consume(_ options: BenchOptions) async throws {
        let records = min(options.records, 40_000)
        let cluster = try KafkaTestCluster()
        try await cluster.createTopic(TopicConfiguration(name: "bench", partitions: 3))
        let log = try cluster.openLog()
        for start in stride(from: 0, to: records, by: 1000) {
            _ = try await log.append(
                (start..<min(records, start + 1000)).map {
                    OutgoingRecord(topic: "bench", key: "key-\($0 % 1000)", value: options.value($0))
                })
        }
        let reader = try await log.makeReader(topic: "bench", from: .earliest)
        // Timed from the first record on: assignment and the first fetch are latency, not throughput.
        let first = try await reader.poll(maxRecords: 1000, timeout: .seconds(10)).count
        _ = try await measure("KafkaEventLog consume (reader, polls of 1000)", records: records - first) {
            var read = first
            while read < records {
                let batch = try await reader.poll(maxRecords: 1000, timeout: .seconds(10))
                guard !batch.isEmpty else { break }
                read += batch.count
            }
        }
        await reader.close()
        try await log.shutdown()
        await cluster.close()
    }

    /// Appends `soakRecords` records as fast as the producer accepts them and prints resident
    /// memory every 10%: the bounded producer queue must keep it flat.
    static func runMemorySoak(_ options: BenchOptions) async throws {
        let total = options.soakRecords
        print(
            "## Kafka producer memory soak: \(total) records of \(options.recordBytes) bytes, batches of 1000, 4 producers"
        )
        let cluster = try KafkaTestCluster()
        try await cluster.createTopic(TopicConfiguration(name: "soak", partitions: 3))
        let log = try cluster.openLog { $0.linger = .milliseconds(5) }
        let values = (0..<1000).map { options.value($0) }
        let progress = SoakProgress()
        let start = ContinuousClock.now
        print("records        RSS MiB")
        print("0              \(String(format: "%.1f", residentMemoryMiB()))")
        try await withThrowingTaskGroup(of: Void.self) { group in
            for producer in 0..<4 {
                group.addTask {
                    for batchStart in stride(from: producer * 1000, to: total, by: 4000) {
                        let batch = (batchStart..<min(total, batchStart + 1000)).map {
                            OutgoingRecord(topic: "soak", key: "key-\($0 % 1000)", value: values[$0 % 1000])
                        }
                        _ = try await log.append(batch)
                        if let reached = progress.add(batch.count, step: total / 10) {
                            print(
                                "\(String(reached).padding(toLength: 15, withPad: " ", startingAt: 0))\(String(format: "%.1f", residentMemoryMiB()))"
                            )
                        }
                    }
                }
            }
            try await group.waitForAll()
        }
        let elapsed = ContinuousClock.now - start
        print("soak done in \(elapsed); final RSS \(String(format: "%.1f", residentMemoryMiB())) MiB")
        try await log.shutdown()
        await cluster.close()
    }
}

/// Counts soak progress across producers and says when a reporting step is crossed.
final class SoakProgress: Sendable {
    private let count = Mutex(0)

    func add(_ records: Int, step: Int) -> Int? {
        count.withLock { count in
            let before = count / max(step, 1)
            count += records
            return count / max(step, 1) > before ? count : nil
        }
    }
}
