import Foundation
import Metrics
import Synchronization

/// A fixed set of dedicated threads that run blocking jobs (guest code), so WebAssembly never runs
/// on Swift's cooperative pool: a long guest call cannot starve the async parts of the process.
///
/// Each worker keeps a byte buffer that every job (and every item of a ``map(_:_:)``) gets empty,
/// with the capacity earlier jobs gave it: a function's input is written there, so an invocation
/// does not allocate and free a buffer of its size.
final class WorkerPool: Sendable {
    typealias Job = @Sendable (inout [UInt8]) -> Void

    private struct State {
        var jobs: [Job] = []
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

    /// Runs `job` on a worker, with that worker's buffer, and returns its result.
    func run<Result: Sendable>(_ job: @escaping @Sendable (inout [UInt8]) -> Result) async -> Result {
        await withCheckedContinuation { continuation in
            let accepted = state.withLock { state in
                guard !state.stopped else { return false }
                state.jobs.append { buffer in continuation.resume(returning: job(&buffer)) }
                return true
            }
            if accepted {
                available.signal()
            } else {
                var buffer: [UInt8] = []
                continuation.resume(returning: job(&buffer))
            }
        }
    }

    /// Runs `transform` on every item on the workers and returns the results in order. The batch
    /// costs one hand-off per worker, not per item: each worker that joins claims the next item
    /// from a shared counter until none is left, so a slow item never holds up the rest.
    func map<Item: Sendable, Result: Sendable>(
        _ items: [Item], _ transform: @escaping @Sendable (Item, inout [UInt8]) -> Result
    ) async -> [Result] {
        guard !items.isEmpty else { return [] }
        let participants = min(threads, items.count)
        let batch = SharedBatch<Result>(count: items.count, participants: participants)
        return await withCheckedContinuation { continuation in
            let participant: Job = { buffer in
                while true {
                    let index = batch.next.wrappingAdd(1, ordering: .relaxed).oldValue
                    guard index < items.count else { break }
                    Self.empty(&buffer)
                    batch.store(transform(items[index], &buffer), at: index)
                }
                if let results = batch.finish() { continuation.resume(returning: results) }
            }
            let accepted = state.withLock { state in
                guard !state.stopped else { return false }
                state.jobs.append(contentsOf: repeatElement(participant, count: participants))
                return true
            }
            if accepted {
                for _ in 0..<participants { available.signal() }
            } else {
                var buffer: [UInt8] = []
                for _ in 0..<participants { participant(&buffer) }
            }
        }
    }

    /// Empties a worker's buffer for the next job, keeping its capacity unless an unusually large
    /// input (a direct invocation's) grew it past what an event's input needs.
    private static func empty(_ buffer: inout [UInt8]) {
        if buffer.capacity > 1 << 16 { buffer = [] } else { buffer.removeAll(keepingCapacity: true) }
    }

    /// Lets the workers finish the queued jobs and end.
    func stop() {
        state.withLock { $0.stopped = true }
        for _ in 0..<threads { available.signal() }
    }

    private func work() {
        var buffer: [UInt8] = []
        while true {
            available.wait()
            let job: Job? = state.withLock { state in
                guard !state.jobs.isEmpty else { return nil }
                state.busy += 1
                return state.jobs.removeFirst()
            }
            guard let job else {
                if state.withLock({ $0.stopped }) { return }
                continue
            }
            saturation.record(Double(state.withLock { $0.busy }) / Double(threads))
            Self.empty(&buffer)
            job(&buffer)
            state.withLock { $0.busy -= 1 }
        }
    }
}

/// The shared state of one ``WorkerPool/map(_:_:)`` batch: the next unclaimed item and the results
/// so far.
private final class SharedBatch<Result: Sendable>: Sendable {
    private struct Gathered {
        var slots: [Result?]
        var finished = 0
    }

    let next = Atomic(0)
    private let participants: Int
    private let gathered: Mutex<Gathered>

    init(count: Int, participants: Int) {
        self.participants = participants
        gathered = Mutex(Gathered(slots: Array(repeating: nil, count: count)))
    }

    /// Keeps the result of item `index`.
    func store(_ result: sending Result, at index: Int) {
        gathered.withLock { $0.slots[index] = result }
    }

    /// Marks one participant done; returns every result, in order, to the last one.
    func finish() -> [Result]? {
        gathered.withLock { gathered in
            gathered.finished += 1
            guard gathered.finished == participants else { return nil }
            return gathered.slots.compactMap { $0 }  // every index was claimed exactly once
        }
    }
}
