import EmbeddedLog
import EventLog
import Foundation
import Testing
import TributaryTesting

/// The embedded log keeps every acknowledged record when its process is killed with SIGKILL.
@Suite struct EmbeddedCrashTests {
    @Test func killMinusNineLosesNoAcknowledgedRecord() async throws {
        let runner = try CommandRunner()
        let data = TemporaryDirectory()
        defer { data.remove() }
        #expect(try runner.run(["dev", "--once", "--data", data.path]).status == 0)

        let producer = try runner.start(["produce", "raw-events.dlq", "--data", data.path, "--print-positions"])
        let acknowledged = AcknowledgedPositions(producer.stdout.fileHandleForReading)
        // Feed batches until a few hundred records are acknowledged, then kill mid-stream.
        let writer = producer.stdin.fileHandleForWriting
        var sent = 0
        while acknowledged.count < 300 && sent < 200_000 {
            let lines = (sent..<sent + 100).map { #"{"key": "k\#($0 % 7)", "value": {"n": \#($0)}}"# }
            writer.write(Data((lines.joined(separator: "\n") + "\n").utf8))
            sent += 100
            try await Task.sleep(for: .milliseconds(5))
        }
        writer.write(Data((0..<500).map { #"{"value": {"n": \#(sent + $0)}}"# }.joined(separator: "\n").utf8))
        producer.killHard()
        let positions = acknowledged.finish()
        #expect(positions.count >= 300)

        let log = try EmbeddedEventLog(configuration: EmbeddedLogConfiguration(directory: data.path))
        let description = try await log.describeTopic("raw-events.dlq")
        let total = description.partitions.reduce(Int64(0)) { $0 + $1.endOffset }
        let reader = try await log.makeReader(topic: "raw-events.dlq", from: .earliest)
        let records = try await EventLogConformance.readRecords(reader, count: Int(total))
        await reader.close()
        let stored = Dictionary(uniqueKeysWithValues: records.map { ($0.position.description, $0) })
        for position in positions {
            #expect(stored[position] != nil, "acknowledged record \(position) is missing after kill -9")
        }
        // Records are intact: every stored value is JSON the producer sent, and none is stored twice.
        let numbers = records.compactMap { record -> Int? in
            guard let value = record.value else { return nil }
            return (try? JSONSerialization.jsonObject(with: Data(value)) as? [String: Int])?["n"]
        }
        #expect(numbers.count == records.count, "a stored record is not the JSON that was sent")
        #expect(Set(numbers).count == numbers.count, "a record was stored twice")
        try await log.shutdown()
    }
}

/// Collects the positions a `produce --print-positions` child prints.
final class AcknowledgedPositions: @unchecked Sendable {
    // @unchecked: `positions` is only touched under `lock`.
    private let lock = NSLock()
    private var positions: [String] = []
    private var partial = ""
    private let done = DispatchSemaphore(value: 0)

    init(_ handle: FileHandle) {
        Thread { [self] in
            while true {
                let data = handle.availableData
                if data.isEmpty { break }
                consume(data)
            }
            done.signal()
        }.start()
    }

    var count: Int { lock.withLock { positions.count } }

    private func consume(_ data: Data) {
        lock.withLock {
            partial += String(decoding: data, as: UTF8.self)
            var lines = partial.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            partial = lines.removeLast()
            positions += lines.filter { !$0.isEmpty }
        }
    }

    /// Waits for the child's stdout to close and returns every complete line it printed.
    func finish() -> [String] {
        done.wait()
        return lock.withLock { positions }
    }
}
