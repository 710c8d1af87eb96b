import EmbeddedLog
import EventLog
import Foundation
import Testing
import TributaryTesting

/// Checkpoints run on their own thread, not inside appends, and the write-ahead log stays bounded:
/// it starts over after a pause, and under appends that never pause the writer copies it itself.
@Suite struct EmbeddedCheckpointTests {
    static func size(_ path: String) -> Int {
        ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber)?.intValue ?? 0
    }

    /// Appends `count` batches of 1,000 records of 1,000 bytes, pausing `pause` after each.
    static func appendMegabytes(_ count: Int, to log: EmbeddedEventLog, pause: Duration = .zero) async throws {
        let value = [UInt8](repeating: 0x61, count: 1_000)
        for _ in 0..<count {
            _ = try await log.append((0..<1_000).map { _ in OutgoingRecord(topic: "bulk", key: nil, value: value) })
            if pause > .zero { try await Task.sleep(for: pause) }
        }
    }

    /// Events of 1–2 KB fit in a page of the records table instead of spilling into overflow
    /// pages (SQLite's default pages are 4 KiB).
    @Test func aNewLogHasSixteenKiBPages() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let log = try EmbeddedEventLog(configuration: EmbeddedLogConfiguration(directory: directory.path))
        try await log.createTopic(TopicConfiguration(name: "bulk", partitions: 1))
        try await Self.appendMegabytes(1, to: log)
        _ = try log.checkpoint()
        try await log.shutdown()
        // The page size is the big-endian 16-bit number at offset 16 of the database file's header.
        let header = try [UInt8](Data(contentsOf: URL(fileURLWithPath: directory.path + "/log.sqlite")).prefix(100))
        #expect(header.count == 100)
        #expect(Int(header[16]) << 8 | Int(header[17]) == 16_384)
    }

    /// `durability: full` is what appends get: GRDB turns WAL on with `synchronous = NORMAL`
    /// after the connection's own settings, which silently made every log `normal`.
    @Test(arguments: [EmbeddedLogConfiguration.Durability.full, .normal])
    func appendsHaveTheDurabilityAskedFor(_ durability: EmbeddedLogConfiguration.Durability) async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let log = try EmbeddedEventLog(
            configuration: EmbeddedLogConfiguration(directory: directory.path, durability: durability))
        #expect(try log.writerSynchronous() == (durability == .full ? 2 : 1))
        try await log.shutdown()
    }

    @Test func theCheckpointerCopiesTheLogAndTheWALStaysBounded() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let log = try EmbeddedEventLog(
            configuration: EmbeddedLogConfiguration(
                directory: directory.path, checkpointIdleGap: .milliseconds(5), checkpointInlineBytes: 8_000_000))
        try await log.createTopic(TopicConfiguration(name: "bulk", partitions: 1))
        let database = directory.path + "/log.sqlite"
        let before = Self.size(database)

        // Appends never checkpoint (the automatic checkpoint is off): the checkpointer moves the
        // records into the database file.
        try await Self.appendMegabytes(1, to: log)
        let deadline = ContinuousClock.now + .seconds(60)
        while Self.size(database) < before + 900_000, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(Self.size(database) >= before + 900_000, "the records were not checkpointed into the database")
        let perAppend = try log.checkpoint()

        // With a pause after each append (a chain's blocks), the WAL starts over every time;
        // without that it would hold all 7 appends' frames.
        try await Self.appendMegabytes(6, to: log, pause: .milliseconds(100))
        let afterPauses = try log.checkpoint()
        #expect(afterPauses < 4 * perAppend, "the WAL did not start over: \(afterPauses) frames, \(perAppend) per append")

        // Appends that never pause: every 8 MB the writer copies the WAL itself, and it starts over.
        try await Self.appendMegabytes(24, to: log)
        let sustained = try log.checkpoint()
        #expect(sustained < 20 * perAppend, "\(sustained) frames for 24 appends of \(perAppend) frames")

        let reader = try await log.makeReader(topic: "bulk", from: .earliest)
        let all = try await EventLogConformance.readRecords(reader, count: 31_000)
        await reader.close()
        #expect(all.count == 31_000)
        try await log.shutdown()
    }
}
