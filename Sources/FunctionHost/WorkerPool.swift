import Foundation
import Metrics
import Synchronization

/// A fixed set of dedicated threads that run blocking jobs (guest code), so WebAssembly never runs
/// on Swift's cooperative pool: a long guest call cannot starve the async parts of the process.
final class WorkerPool: Sendable {
    private struct State {
        var jobs: [@Sendable () -> Void] = []
        var stopped = false
        var busy = 0
    }

    private let state = Mutex(State())
    private let available = DispatchSemaphore(value: 0)
    private let threads: Int
    private let saturation: Gauge

    /// Starts `threads` worker threads named `name-N`.
    init(threads: Int, name: String) {
        self.threads = max(1, threads)
        saturation = Gauge(label: "tributary_wasm_host_busy_workers")
        for index in 0..<self.threads {
            let thread = Thread { [self] in work() }
            thread.name = "\(name)-\(index)"
            thread.start()
        }
    }

    /// Runs `job` on a worker and returns its result.
    func run<Result: Sendable>(_ job: @escaping @Sendable () -> Result) async -> Result {
        await withCheckedContinuation { continuation in
            let accepted = state.withLock { state in
                guard !state.stopped else { return false }
                state.jobs.append { continuation.resume(returning: job()) }
                return true
            }
            if accepted { available.signal() } else { continuation.resume(returning: job()) }
        }
    }

    /// Lets the workers finish the queued jobs and end.
    func stop() {
        state.withLock { $0.stopped = true }
        for _ in 0..<threads { available.signal() }
    }

    private func work() {
        while true {
            available.wait()
            let job: (@Sendable () -> Void)? = state.withLock { state in
                guard !state.jobs.isEmpty else { return nil }
                state.busy += 1
                return state.jobs.removeFirst()
            }
            guard let job else {
                if state.withLock({ $0.stopped }) { return }
                continue
            }
            saturation.record(Double(state.withLock { $0.busy }) / Double(threads))
            job()
            state.withLock { $0.busy -= 1 }
        }
    }
}
