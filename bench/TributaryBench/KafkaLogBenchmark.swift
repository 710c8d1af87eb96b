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
        // The raw baseline and the wrapper produce the same records with the same settings.
        var raw: [Double] = []
        var wrapped: [Double] = []
        for round in 1...2 {
            let cluster = try KafkaTestCluster()
            try await cluster.createTopic(TopicConfiguration(name: "bench", partitions: 3))
            var configuration = cluster.configuration
            configuration.linger = .milliseconds(5)
            let outcome = try await RawKafkaProducerBaseline.produce(keyed, configuration: configuration)
            let seconds =
                outcome.elapsed.secondsValue
            let rate = Double(outcome.delivered) / seconds
            raw.append(rate)
            print(
                "\("raw librdkafka produce (round \(round))".padding(toLength: 58, withPad: " ", startingAt: 0)) \(String(format: "%10.0f", rate)) records/s  (\(outcome.delivered) delivered, \(outcome.failed) failed)"
            )
            let log = try cluster.openLog { $0.linger = .milliseconds(5) }
            wrapped.append(
                try await measure("KafkaEventLog append, batch 1000, 1 producer (round \(round))", records: records) {
                    var index = 0
                    while index < records {
                        let end = min(records, index + 1000)
                        _ = try await log.append(Array(keyed[index..<end]))
                        index = end
                    }
                })
            for producers in [4, 16] {
                wrapped.append(
                    try await measure(
                        "KafkaEventLog append, batch 1000, \(producers) producers (round \(round))", records: records
                    ) {
                        try await withThrowingTaskGroup(of: Void.self) { group in
                            for producer in 0..<producers {
                                group.addTask {
                                    for start in stride(from: producer * 1000, to: records, by: producers * 1000) {
                                        _ = try await log.append(Array(keyed[start..<min(records, start + 1000)]))
                                    }
                                }
                            }
                            try await group.waitForAll()
                        }
                    })
            }
            wrapped.append(
                try await measure("KafkaEventLog append, one batch of all records (round \(round))", records: records) {
                    _ = try await log.append(keyed)
                })
            for batch in [1, 10, 100] where round == 1 {
                let count = batch == 1 ? 2_000 : batch == 10 ? 20_000 : records
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
        let ratio = (wrapped.max() ?? 0) / (raw.max() ?? 1)
        print("wrapper/raw produce ratio (best of each): \(String(format: "%.2f", ratio))")
        try await consume(options)
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
