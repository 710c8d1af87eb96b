import EmbeddedLog
import EventLog
import Foundation
import Testing
import TributaryTesting

@Suite("Embedded log conformance")
struct EmbeddedConformanceTests {
    @Test(arguments: EventLogConformance.checks.keys.sorted())
    func conformance(check: String) async throws {
        let directory = TemporaryDirectory()
        let configuration = EmbeddedLogConfiguration(directory: directory.path)
        let subject = EventLogSubject(
            openLog: { try EmbeddedEventLog(configuration: configuration) },
            createTopic: { topic in
                let log = try EmbeddedEventLog(configuration: configuration)
                try await log.createTopic(topic)
                try await log.shutdown()
            },
            tearDown: { directory.remove() },
            compactNow: {
                let log = try EmbeddedEventLog(configuration: configuration)
                try await log.runMaintenance()
                try await log.shutdown()
            })
        try await EventLogConformance.checks[check]!(subject)
        try await subject.tearDown()
    }
}
