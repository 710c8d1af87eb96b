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
