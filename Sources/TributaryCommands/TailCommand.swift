import ArgumentParser
import EventLog
import Foundation

/// `tributary tail <topic>`: prints records as they arrive.
struct TailCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tail",
        abstract: "Print a topic's records: new ones by default, or everything with --from-beginning.")

    @OptionGroup var options: GlobalOptions

    @Argument(help: "The topic, for example canonical-events.")
    var topic: String

    @Flag(name: .long, help: "Start at the oldest retained record instead of the end.")
    var fromBeginning = false

    @Option(name: .long, help: "Stop after this many records.")
    var limit: Int?

    @Flag(name: .long, help: "Stop when the end of the topic is reached instead of waiting for more.")
    var noFollow = false

    @Flag(name: .long, help: "One JSON object per line: topic, partition, offset, timestamp, key, headers, value.")
    var json = false

    func validate() throws {
        if let limit, limit < 1 { throw ValidationError("--limit must be at least 1") }
    }

    func run() async throws {
        let (configuration, _) = try options.loadConfiguration()
        let renderer = RecordRenderer()
        try await withEventLog(configuration, logger: options.makeLogger()) { log in
            let description = try await log.describeTopic(topic)
            var remainingAtEnd: [Int: Int64] = [:]
            for partition in description.partitions where partition.endOffset > partition.startOffset {
                remainingAtEnd[partition.partition] = partition.endOffset
            }
            if !fromBeginning { remainingAtEnd.removeAll() }
            if noFollow && remainingAtEnd.isEmpty { return }
            let reader = try await log.makeReader(topic: topic, from: fromBeginning ? .earliest : .latest)
            var printed = 0
            reading: while true {
                let records = try await reader.poll(maxRecords: 500, timeout: .seconds(1))
                for record in records {
                    print(json ? renderer.jsonLine(record) : renderer.humanLine(record))
                    printed += 1
                    if let limit, printed >= limit { break reading }
                    if let end = remainingAtEnd[record.partition], record.offset + 1 >= end {
                        remainingAtEnd.removeValue(forKey: record.partition)
                    }
                }
                fflush(nil)
                if noFollow && remainingAtEnd.isEmpty { break }
            }
            fflush(nil)
            await reader.close()
        }
    }
}
