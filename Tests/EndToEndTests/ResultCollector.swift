import EventLog
import Foundation
import Processor
import TributaryModel
import TributaryTesting

/// Reads `function-results` for the end-to-end tests.
enum ResultCollector {
    /// The invocation id of `trigger` invoking `large-transfer` version 1 for `event`.
    static func invocationID(trigger: String, event: String, retraction: Bool) -> String {
        InvocationIdentity.invocationID(
            functionName: "large-transfer", functionVersion: 1, eventID: event, triggerID: trigger,
            retraction: retraction)
    }

    /// Every result in `log` once each of `invocationIDs` has one (waiting `timeout` at most: a
    /// guard against hangs, not a performance check), read two seconds longer to catch
    /// duplicates. On timeout the error names how many are missing, then `diagnostics()`.
    static func collect(
        from log: any EventLog, covering invocationIDs: Set<String>, timeout: Duration,
        diagnostics: () -> String
    ) async throws -> [Tributary_V1_InvocationResult] {
        let reader = try await log.makeReader(topic: StandardTopic.functionResults.name, from: .earliest)
        var results: [Tributary_V1_InvocationResult] = []
        var seen = Set<String>()
        let deadline = ContinuousClock.now + timeout
        var settledAt: ContinuousClock.Instant?
        while ContinuousClock.now < deadline {
            for record in try await reader.poll(maxRecords: 1_000, timeout: .milliseconds(200)) {
                let result = try RecordEncoding.decode(
                    Tributary_V1_InvocationResult.self, from: record.value ?? [], contentType: record.contentType)
                results.append(result)
                seen.insert(result.invocationID)
            }
            if settledAt == nil && seen.isSuperset(of: invocationIDs) { settledAt = .now }
            if let settledAt, ContinuousClock.now - settledAt > .seconds(2) { break }
        }
        await reader.close()
        guard seen.isSuperset(of: invocationIDs) else {
            let missing = invocationIDs.subtracting(seen).count
            throw CommandRunnerError(
                reason: "\(missing) of \(invocationIDs.count) invocations have no result\n\(diagnostics())")
        }
        return results
    }
}
