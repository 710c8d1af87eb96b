import EventLog
import Foundation
import Testing
import TributaryTesting

/// The CLI against Kafka: a librdkafka mock cluster hosted by this test process.
@Suite struct KafkaCommandLineTests {
    @Test func produceAndTailOverKafka() async throws {
        let runner = try CommandRunner()
        let cluster = try KafkaTestCluster()
        try await cluster.createTopic(TopicConfiguration(name: "cli-events", partitions: 3))
        let kafka = ["--kafka", cluster.bootstrapServers]
        let input = (0..<20).map { #"{"key": "k\#($0 % 4)", "value": {"n": \#($0)}, "headers": {"h": "v\#($0)"}}"# }
        let produced = try runner.run(
            ["produce", "cli-events", "--print-positions"] + kafka, input: input.joined(separator: "\n"))
        #expect(produced.status == 0, "\(produced.standardError)")
        #expect(produced.outputLines.count == 20)

        let topics = try runner.run(["topics", "--json"] + kafka)
        #expect(topics.status == 0, "\(topics.standardError)")
        #expect(topics.standardOutput.contains("\"topic\":\"cli-events\""))

        let tail = try runner.run(["tail", "cli-events", "--from-beginning", "--no-follow", "--json"] + kafka)
        #expect(tail.status == 0, "\(tail.standardError)")
        let lines = try tail.outputLines.map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
        #expect(lines.count == 20)
        let numbers = lines.compactMap { ($0["value"] as? [String: Any])?["n"] as? Int }
        #expect(Set(numbers) == Set(0..<20))
        for line in lines {
            let n = (line["value"] as? [String: Any])?["n"] as? Int ?? -1
            #expect(line["key"] as? String == "k\(n % 4)")
            #expect((line["headers"] as? [String: Any])?["h"] as? String == "v\(n)")
            let expected = Murmur2Partitioner.partition(forKey: Array("k\(n % 4)".utf8), partitionCount: 3)
            #expect(line["partition"] as? Int == expected)
        }
        await cluster.close()
    }

    @Test func unreachableBrokerIsOneClearLine() throws {
        let runner = try CommandRunner()
        let outcome = try runner.run(["topics", "--kafka", "127.0.0.1:1", "--set", "kafka.operationTimeout=2s"])
        #expect(outcome.status != 0)
        let lines = outcome.standardError.split(separator: "\n")
        #expect(lines.count == 1, "expected one line, got: \(outcome.standardError)")
        #expect(outcome.standardError.contains("no Kafka broker at '127.0.0.1:1'"))
    }
}
