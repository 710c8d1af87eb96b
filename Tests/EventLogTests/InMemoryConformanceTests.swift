import EventLog
import Testing
import TributaryTesting

@Suite("In-memory log conformance")
struct InMemoryConformanceTests {
    @Test(arguments: EventLogConformance.checks.keys.sorted())
    func conformance(check: String) async throws {
        let log = InMemoryEventLog()
        let subject = EventLogSubject(
            openLog: { InMemoryEventLog(sharingStorageOf: log) }, createTopic: { try await log.createTopic($0) })
        try await EventLogConformance.checks[check]!(subject)
    }
}
