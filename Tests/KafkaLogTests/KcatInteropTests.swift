import EventLog
import Foundation
import Testing
import TributaryTesting

/// Tributary and `kcat` (librdkafka's command-line client, a separate process) read each
/// other's records on the mock cluster: keys, values, headers and key → partition mapping.
@Suite("kcat interoperability", .timeLimit(.minutes(2)))
struct KcatInteropTests {
    /// `kcat`, or a failed expectation telling how to install it.
    private func requireKcat() throws -> String {
        try #require(
            KafkaProcess.kcatPath,
            "kcat is not installed: these interoperability tests need it (apt-get install kcat, as the setup script does)"
        )
    }

    @Test("records appended by Tributary are read by kcat with their keys, values, headers and partitions")
    func tributaryToKcat() async throws {
        let kcat = try requireKcat()
        let cluster = try KafkaTestCluster()
        let topic = "tributary-to-kcat"
        try await cluster.createTopic(TopicConfiguration(name: topic, partitions: 3))
        let log = try cluster.openLog()
        let records = (0..<30).map { index in
            OutgoingRecord(
                topic: topic, key: Array("user-\(index % 7)".utf8), value: Array("{\"n\":\(index)}".utf8),
                headers: [
                    RecordHeader(name: "content-type", text: "application/json"),
                    RecordHeader(name: "sequence", text: "\(index)"),
                ])
        }
        let positions = try await log.append(records)

        let output = try await KafkaProcess.run(
            kcat, ["-b", cluster.bootstrapServers, "-C", "-t", topic, "-o", "beginning", "-e", "-J", "-q"])
        #expect(output.status == 0, "kcat failed: \(output.standardError)")
        let consumed = try output.standardOutput.split(separator: "\n").map { line in
            try #require(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        }
        #expect(consumed.count == records.count)
        var byPosition: [RecordPosition: [String: Any]] = [:]
        for message in consumed {
            let position = RecordPosition(
                topic: message["topic"] as? String ?? "", partition: message["partition"] as? Int ?? -1,
                offset: Int64(message["offset"] as? Int ?? -1))
            byPosition[position] = message
        }
        for (record, position) in zip(records, positions) {
            let message = try #require(byPosition[position], "kcat did not see \(position)")
            #expect(message["key"] as? String == String(decoding: record.key!, as: UTF8.self))
            #expect(message["payload"] as? String == String(decoding: record.value!, as: UTF8.self))
            let headers = message["headers"] as? [String] ?? []
            #expect(headers == record.headers.flatMap { [$0.name, $0.text ?? ""] })
            let expected = Murmur2Partitioner.partition(forKey: record.key!, partitionCount: 3)
            #expect(position.partition == expected, "Tributary put \(position) off its murmur2 partition \(expected)")
        }
        try await log.shutdown()
        await cluster.close()
    }

    @Test("records produced by kcat with murmur2_random are read by Tributary on Tributary's partitions")
    func kcatToTributary() async throws {
        let kcat = try requireKcat()
        let cluster = try KafkaTestCluster()
        let topic = "kcat-to-tributary"
        try await cluster.createTopic(TopicConfiguration(name: topic, partitions: 3))
        let lines = (0..<40).map { "order-\($0 % 11):payload-\($0)" }
        let output = try await KafkaProcess.run(
            kcat,
            [
                "-b", cluster.bootstrapServers, "-P", "-t", topic, "-K:", "-H", "source=kcat", "-H", "trace=abc-123",
                "-X", "partitioner=murmur2_random",
            ], input: lines.joined(separator: "\n") + "\n")
        #expect(output.status == 0, "kcat failed: \(output.standardError)")

        let log = try cluster.openLog()
        let reader = try await log.makeReader(topic: topic, from: .earliest)
        let read = try await EventLogConformance.readRecords(reader, count: lines.count)
        await reader.close()
        #expect(read.count == lines.count)
        let expectedValues = Set(lines.map { String($0.split(separator: ":")[1]) })
        #expect(Set(read.map { String(decoding: $0.value ?? [], as: UTF8.self) }) == expectedValues)
        for record in read {
            let key = try #require(record.key, "kcat's key was lost")
            let value = String(decoding: record.value ?? [], as: UTF8.self)
            let index = Int(value.dropFirst("payload-".count))!
            #expect(String(decoding: key, as: UTF8.self) == "order-\(index % 11)")
            #expect(
                record.headers == [
                    RecordHeader(name: "source", text: "kcat"), RecordHeader(name: "trace", text: "abc-123"),
                ])
            #expect(
                record.partition == Murmur2Partitioner.partition(forKey: key, partitionCount: 3),
                "kcat (murmur2_random) and Murmur2Partitioner disagree on key \(String(decoding: key, as: UTF8.self))")
        }
        // Per key, kcat's input order is kept.
        for key in Set(read.compactMap(\.key)) {
            let values = read.filter { $0.key == key }.map {
                Int(String(decoding: $0.value!, as: UTF8.self).dropFirst(8))!
            }
            #expect(values == values.sorted())
        }
        try await log.shutdown()
        await cluster.close()
    }
}
