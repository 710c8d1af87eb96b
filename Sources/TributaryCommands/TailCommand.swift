import ArgumentParser
import EventLog
import Foundation

/// `tributary tail <topic>`: prints records as they arrive; `tributary tail --stream events|results`
/// reads the gateway's stream instead.
struct TailCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tail",
        abstract:
            "Print a topic's records (new ones by default, or everything with --from-beginning), or the gateway's stream with --stream."
    )

    @OptionGroup var options: GlobalOptions
    @OptionGroup var client: GatewayClientOptions

    @Argument(help: "The topic, for example canonical-events (not with --stream).")
    var topic: String?

    @Option(name: .long, help: "Read the gateway's stream instead of the log: events or results.")
    var stream: String?

    @Option(name: .long, help: "With --stream results: one function's results.")
    var function: String?

    @Option(name: .long, help: "With --stream events: a filter expression (docs/filters.md).")
    var filter: String?

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
        if stream == nil && topic == nil { throw ValidationError("name a topic, or pass --stream events|results") }
        if stream != nil && topic != nil { throw ValidationError("pass a topic or --stream, not both") }
        if stream == nil && (function != nil || filter != nil) {
            throw ValidationError("--function and --filter apply to --stream")
        }
    }

    func run() async throws {
        if let stream {
            return try await StreamTail(
                client: try client.client(), stream: stream, function: function, filter: filter,
                from: fromBeginning ? "earliest" : nil, limit: limit
            ).run()
        }
        let topic = topic ?? ""
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
