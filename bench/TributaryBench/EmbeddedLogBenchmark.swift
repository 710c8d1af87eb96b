import EmbeddedLog
import EventLog
import Foundation
import TributaryTesting

/// Append and consume throughput of the embedded log.
enum EmbeddedLogBenchmark {
    static func run(_ options: BenchOptions) async throws {
        print("## embedded log (SQLite WAL, durability full), \(options.recordBytes)-byte records")
        for batch in [1, 10, 100, 1000] {
            let count =
                batch == 1 ? min(options.records, 5_000) : batch == 10 ? min(options.records, 50_000) : options.records
            try await appendSequential(options, records: count, batch: batch)
        }
        try await appendConcurrent(options, records: min(options.records, 100_000), producers: 64)
        try await consume(options)
    }

    private static func withLog(_ body: (EmbeddedEventLog) async throws -> Void) async throws {
        let directory = TemporaryDirectory(prefix: "tributary-bench")
        defer { directory.remove() }
        let log = try EmbeddedEventLog(configuration: EmbeddedLogConfiguration(directory: directory.path))
        try await log.createTopic(TopicConfiguration(name: "bench", partitions: 3))
        try await body(log)
        try await log.shutdown()
    }

    private static func appendSequential(_ options: BenchOptions, records: Int, batch: Int) async throws {
        try await withLog { log in
            let values = (0..<records).map { options.value($0) }
            _ = try await measure("embedded append, batch \(batch), 1 producer", records: records) {
                var index = 0
                while index < records {
                    let end = min(records, index + batch)
                    _ = try await log.append(
                        (index..<end).map { OutgoingRecord(topic: "bench", key: "key-\($0 % 1000)", value: values[$0]) }
                    )
                    index = end
                }
            }
        }
    }

    private static func appendConcurrent(_ options: BenchOptions, records: Int, producers: Int) async throws {
        try await withLog { log in
            _ = try await measure("embedded append, batch 1, \(producers) concurrent producers", records: records) {
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for producer in 0..<producers {
                        group.addTask {
                            for index in stride(from: producer, to: records, by: producers) {
                                _ = try await log.append([
                                    OutgoingRecord(
                                        topic: "bench", key: "key-\(index % 1000)", value: options.value(index))
                                ])
                            }
                        }
                    }
                    try await group.waitForAll()
                }
            }
        }
    }

    private static func consume(_ options: BenchOptions) async throws {
        try await withLog { log in
            let records = options.records
            var index = 0
            while index < records {
                let end = min(records, index + 1000)
                _ = try await log.append(
                    (index..<end).map {
                        OutgoingRecord(topic: "bench", key: "key-\($0 % 1000)", value: options.value($0))
                    })
                index = end
            }
            let reader = try await log.makeReader(topic: "bench", from: .earliest)
            _ = try await measure("embedded consume (reader, polls of 1000)", records: records) {
                var read = 0
                while read < records {
                    let batch = try await reader.poll(maxRecords: 1000, timeout: .seconds(5))
                    guard !batch.isEmpty else { break }
                    read += batch.count
                }
            }
            await reader.close()
            let consumer = try await log.makeGroupConsumer(group: "bench", topics: ["bench"])
            _ = try await measure("embedded consume (group, commit per poll of 1000)", records: records) {
                var read = 0
                while read < records {
                    let batch = try await consumer.poll(maxRecords: 1000, timeout: .seconds(5))
                    guard !batch.isEmpty else { break }
                    try await consumer.commit(through: batch)
                    read += batch.count
                }
            }
            await consumer.close()
        }
    }
}

/// One hop through the embedded log as a role sees it: an append of a block's worth of events
/// and a group consumer waiting on the topic, with pauses between appends as in the paced
/// pipeline. Times the append's return and the consumer's poll, from the append call.
enum EmbeddedHopBenchmark {
    static func run(_ options: BenchOptions) async throws {
        let directory = TemporaryDirectory(prefix: "tributary-bench")
        defer { directory.remove() }
        let log = try EmbeddedEventLog(configuration: EmbeddedLogConfiguration(directory: directory.path))
        try await log.createTopic(TopicConfiguration(name: "hop", partitions: 3))
        let consumer = try await log.makeGroupConsumer(group: "hop", topics: ["hop"])
        let batch = 100
        let rounds = max(200, options.rounds)
        print("## embedded log hop: \(rounds) appends of \(batch) × \(options.recordBytes)-byte records, 20 ms apart")
        var appended: [Double] = []
        var polled: [Double] = []
        let values = (0..<batch).map { options.value($0) }
        for round in 0..<rounds {
            let records = (0..<batch).map {
                OutgoingRecord(topic: "hop", key: "key-\(round)-\($0)", value: values[$0])
            }
            let start = ContinuousClock.now
            async let received: Int = {
                var count = 0
                while count < batch { count += try await consumer.poll(maxRecords: 1_000, timeout: .seconds(5)).count }
                return count
            }()
            _ = try await log.append(records)
            let afterAppend = ContinuousClock.now
            _ = try await received
            let afterPoll = ContinuousClock.now
            let polledRecords = try await consumer.poll(maxRecords: 1, timeout: .zero)
            precondition(polledRecords.isEmpty)
            if round >= 10 {
                appended.append(Double((afterAppend - start).components.attoseconds) / 1e15)
                polled.append(Double((afterPoll - start).components.attoseconds) / 1e15)
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        func percentile(_ values: [Double], _ p: Double) -> String {
            let sorted = values.sorted()
            return String(format: "%.2f", sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))])
        }
        print("append returned: p50 \(percentile(appended, 0.5)) ms, p99 \(percentile(appended, 0.99)) ms")
        print("consumer has them: p50 \(percentile(polled, 0.5)) ms, p99 \(percentile(polled, 0.99)) ms")
        await consumer.close()
        try await log.shutdown()
    }
}
