import EventLog
import Testing
import TributaryTesting

@Suite("Kafka log conformance (librdkafka mock cluster)")
struct KafkaConformanceTests {
    /// Every check of the shared suite, each against a fresh 3-broker mock cluster.
    @Test(arguments: EventLogConformance.checks.keys.sorted())
    func conformance(check: String) async throws {
        let subject = try KafkaTestCluster.makeSubject()
        do {
            try await EventLogConformance.checks[check]!(subject)
        } catch {
            try await subject.tearDown()
            throw error
        }
        try await subject.tearDown()
    }
}
