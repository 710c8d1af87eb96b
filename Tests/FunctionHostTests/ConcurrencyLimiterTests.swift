import Synchronization
import Testing

@testable import FunctionHost

@Suite struct ConcurrencyLimiterTests {
    @Test func atMostTheLimitRunAtOncePerFunctionAndEveryoneRuns() async {
        let limiter = ConcurrencyLimiter()
        let counts = Counts()
        await withTaskGroup(of: Void.self) { group in
            for index in 0..<40 {
                let key = index % 2 == 0 ? "limited" : "other"
                group.addTask {
                    await limiter.run(key, limit: key == "limited" ? 2 : 0) {
                        counts.state.withLock {
                            $0.running[key, default: 0] += 1
                            $0.peak[key] = max($0.peak[key] ?? 0, $0.running[key]!)
                        }
                        try? await Task.sleep(for: .milliseconds(5))
                        counts.state.withLock {
                            $0.running[key]! -= 1
                            $0.done += 1
                        }
                    }
                }
            }
        }
        let final = counts.state.withLock { $0 }
        #expect(final.done == 40)
        #expect(final.peak["limited"] == 2)
        #expect((final.peak["other"] ?? 0) >= 1)
    }
}

private final class Counts: Sendable {
    let state = Mutex((running: [String: Int](), peak: [String: Int](), done: 0))
}
