import ArgumentParser
import EventLog
import Foundation

/// `tributary topics`: lists topics with their partitions and offsets.
struct TopicsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "topics", abstract: "List topics with their partitions and end offsets.")

    @OptionGroup var options: GlobalOptions

    @Flag(name: .long, help: "One JSON object per topic.")
    var json = false

    func run() async throws {
        let (configuration, _) = try options.loadConfiguration()
        let topics = try await withEventLog(configuration, logger: options.makeLogger()) {
            try await $0.describeTopics()
        }
        if json {
            for topic in topics {
                let object: [String: Any] = [
                    "topic": topic.name,
                    "partitions": topic.partitions.map {
                        ["partition": $0.partition, "startOffset": $0.startOffset, "endOffset": $0.endOffset]
                    },
                ]
                let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
                print(String(decoding: data, as: UTF8.self))
            }
            return
        }
        guard !topics.isEmpty else {
            print("no topics yet (tributary dev creates the standard ones)")
            return
        }
        let width = max(5, topics.map(\.name.count).max() ?? 0)
        print("TOPIC".padding(toLength: width, withPad: " ", startingAt: 0) + "  PARTITIONS  RECORDS  END OFFSETS")
        for topic in topics {
            let records = topic.partitions.reduce(Int64(0)) { $0 + $1.endOffset - $1.startOffset }
            let ends = topic.partitions.map { "\($0.partition):\($0.endOffset)" }.joined(separator: " ")
            print(
                topic.name.padding(toLength: width, withPad: " ", startingAt: 0)
                    + "  " + "\(topic.partitions.count)".padding(toLength: 10, withPad: " ", startingAt: 0)
                    + "  " + "\(records)".padding(toLength: 7, withPad: " ", startingAt: 0) + "  " + ends)
        }
    }
}
