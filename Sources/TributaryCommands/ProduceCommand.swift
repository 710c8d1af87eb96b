import ArgumentParser
import EventLog
import Foundation
import TributaryModel

/// `tributary produce <topic>`: appends JSON lines from stdin.
struct ProduceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "produce",
        abstract: "Append JSON lines from stdin to a topic.",
        discussion: """
            Each line is either an envelope {"key": "…", "value": …, "headers": {…}, "partition": n} or the value
            itself. A null value is a tombstone. Values for the standard topics must be valid proto3-JSON of the
            topic's message and are written in the configured encoding. Lines read together are appended as one batch.
            """)

    @OptionGroup var options: GlobalOptions

    @Argument(help: "The topic to append to.")
    var topic: String

    @Flag(name: .long, help: "Print the position of every record once it is acknowledged.")
    var printPositions = false

    func run() async throws {
        let (configuration, _) = try options.loadConfiguration()
        let renderer = RecordRenderer()
        let count = try await withEventLog(configuration, logger: options.makeLogger()) { log in
            _ = try await log.describeTopic(topic)  // fail early, before reading stdin, on an unknown topic
            var lineNumber = 0
            var appended = 0
            let input = StandardInputLines()
            for await lines in input.chunks {
                defer { input.consumed() }
                var records: [OutgoingRecord] = []
                for line in lines {
                    lineNumber += 1
                    guard !line.allSatisfy(\.isWhitespace) else { continue }
                    do {
                        records.append(try renderer.parseLine(line, topic: topic, encoding: configuration.encoding))
                    } catch let error as CommandError {
                        throw CommandError(.invalidInput, "stdin line \(lineNumber): \(error.reason)")
                    }
                }
                guard !records.isEmpty else { continue }
                let positions = try await log.append(records)
                appended += positions.count
                if printPositions {
                    print(positions.map(\.description).joined(separator: "\n"))
                    fflush(nil)
                }
            }
            return appended
        }
        FileHandle.standardError.write(Data("appended \(count) records to \(topic)\n".utf8))
    }
}

/// Reads stdin on a dedicated thread (reads block) and yields the complete lines of each read,
/// so lines that arrive together are appended together. At most two chunks wait at a time: the
/// reader stops reading while appends lag behind, so stdin is never buffered without bound.
final class StandardInputLines: Sendable {
    /// The chunks of complete lines, in order.
    let chunks: AsyncStream<[String]>
    private let room = DispatchSemaphore(value: 2)

    init() {
        let (chunks, continuation) = AsyncStream.makeStream(of: [String].self)
        self.chunks = chunks
        let room = room
        let thread = Thread {
            var pending: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 1 << 16)
            while true {
                let count = buffer.withUnsafeMutableBytes { read(0, $0.baseAddress, $0.count) }
                if count <= 0 { break }
                pending += buffer[0..<count]
                guard let lastNewline = pending.lastIndex(of: UInt8(ascii: "\n")) else { continue }
                let lines = pending[..<lastNewline].split(
                    separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
                room.wait()
                continuation.yield(lines.map { String(decoding: $0, as: UTF8.self) })
                pending.removeSubrange(...lastNewline)
            }
            if !pending.isEmpty {
                room.wait()
                continuation.yield([String(decoding: pending, as: UTF8.self)])
            }
            continuation.finish()
        }
        thread.name = "tributary-stdin"
        thread.start()
    }

    /// Call after handling a chunk: lets the reader take another.
    func consumed() {
        room.signal()
    }
}
