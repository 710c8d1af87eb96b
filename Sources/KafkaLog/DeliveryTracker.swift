import EventLog
import Synchronization

/// Matches librdkafka delivery reports to the appends that are waiting for them.
///
/// Each append opens a batch; every record it enqueues carries a message opaque that encodes
/// the batch id (high 32 bits) and the record's index in the batch (low 32 bits), so a report
/// can never point at freed memory: a report for a batch that is gone is ignored. The append
/// suspends in ``wait(for:)`` until every record of its batch has a report. Reports carry only
/// partition and offset (the append knows its records' topics), so the poll thread, which
/// serves every report, builds no strings.
final class DeliveryTracker: Sendable {
    /// Where one record landed in its topic.
    struct Delivery: Sendable, Equatable {
        var partition: Int32
        var offset: Int64

        /// A record without a report yet; real partitions are never negative.
        static let pending = Delivery(partition: .min, offset: .min)
        /// A record whose report carried an error.
        static let failed = Delivery(partition: -1, offset: -1)
    }

    /// The bookkeeping of the open batches, changed only under the lock.
    struct State {
        struct Batch {
            var deliveries: [Delivery]
            var outstanding: Int
            var failure: (any Error)?
            var continuation: CheckedContinuation<[Delivery], any Error>?

            /// Stores one report; `false` when the index is out of range or already reported.
            mutating func record(index: Int, outcome: Result<Delivery, EventLogError>) -> Bool {
                guard outstanding > 0, deliveries.indices.contains(index), deliveries[index] == .pending else {
                    return false  // out of range, reported twice, or the batch already failed
                }
                switch outcome {
                case .success(let delivery): deliveries[index] = delivery
                case .failure(let error):
                    failure = failure ?? error
                    deliveries[index] = .failed
                }
                outstanding -= 1
                return true
            }
        }

        /// What to do after a change, outside the lock.
        enum Action {
            case none
            case resume(CheckedContinuation<[Delivery], any Error>, Result<[Delivery], any Error>)
        }

        var batches: [UInt32: Batch] = [:]
        var lastID: UInt32 = 0
        var closedReason: String?

        mutating func open(count: Int) throws -> UInt32 {
            if let closedReason { throw EventLogError(.closed, closedReason) }
            repeat { lastID &+= 1 } while lastID == 0 || batches[lastID] != nil
            batches[lastID] = Batch(deliveries: Array(repeating: .pending, count: count), outstanding: count)
            return lastID
        }

        /// Applies reports in arrival order; returns the appends to resume. Consecutive reports
        /// of one batch (librdkafka reports a produce request's records together) share one
        /// lookup.
        mutating func apply(_ reports: [Report]) -> [Action] {
            var actions: [Action] = []
            var next = 0
            while next < reports.count {
                let id = reports[next].batch
                // Taken out of the dictionary so its array is uniquely referenced and updated in
                // place; copying it would make every report O(batch size).
                guard var batch = batches.removeValue(forKey: id) else {
                    while next < reports.count, reports[next].batch == id { next += 1 }  // finished or failed
                    continue
                }
                while next < reports.count, reports[next].batch == id {
                    _ = batch.record(index: reports[next].index, outcome: reports[next].outcome)
                    next += 1
                }
                batches[id] = batch
                let action = finishIfDone(id)
                if case .resume = action { actions.append(action) }
            }
            return actions
        }

        mutating func install(
            _ continuation: CheckedContinuation<[Delivery], any Error>, batch id: UInt32
        )
            -> Action
        {
            guard batches[id] != nil else {
                return .resume(
                    continuation, .failure(EventLogError(.closed, closedReason ?? "the append was abandoned")))
            }
            batches[id]!.continuation = continuation
            return finishIfDone(id)
        }

        /// Fails batch `id` at once: later reports for it are ignored.
        mutating func fail(_ id: UInt32, with error: any Error) -> Action {
            guard batches[id] != nil else { return .none }
            batches[id]!.failure = error
            batches[id]!.outstanding = 0
            return finishIfDone(id)
        }

        /// Hands a finished batch's result to its waiting append and forgets the batch.
        private mutating func finishIfDone(_ id: UInt32) -> Action {
            guard let batch = batches[id], batch.outstanding == 0, let continuation = batch.continuation else {
                return .none
            }
            batches.removeValue(forKey: id)
            if let failure = batch.failure { return .resume(continuation, .failure(failure)) }
            return .resume(continuation, .success(batch.deliveries))
        }

        /// Fails every open batch and refuses new ones.
        mutating func close(reason: String) -> [CheckedContinuation<[Delivery], any Error>] {
            closedReason = reason
            defer { batches.removeAll() }
            return batches.values.compactMap(\.continuation)
        }
    }

    /// One delivery report.
    struct Report {
        var opaque: UInt
        var outcome: Result<Delivery, EventLogError>
        var batch: UInt32 { UInt32(truncatingIfNeeded: opaque >> 32) }
        var index: Int { Int(UInt32(truncatingIfNeeded: opaque)) }
    }

    /// Reports gathered while librdkafka serves callbacks, applied together by ``applyGathered()``.
    private final class GatheredReports: @unchecked Sendable {
        // @unchecked Sendable: only the thread inside `rd_kafka_poll` or `rd_kafka_flush` on the
        // producer touches it, and the producer runs one of those at a time (its thread, then
        // after that stopped, the shutdown flush).
        var reports: [Report] = []
    }

    private let state = Mutex(State())
    private let gathered = GatheredReports()

    init() {}

    /// Opens a batch of `count` records and returns its id.
    ///
    /// - Throws: `.closed` after ``close(reason:)``.
    func open(count: Int) throws -> UInt32 { try state.withLock { try $0.open(count: count) } }

    /// The message opaque for record `index` of batch `id`.
    static func opaque(batch id: UInt32, index: Int) -> UInt {
        UInt(id) << 32 | UInt(UInt32(truncatingIfNeeded: index))
    }

    /// Records the delivery report of the record behind `opaque` at once.
    func report(opaque: UInt, outcome: Result<Delivery, EventLogError>) {
        let actions = state.withLock { $0.apply([Report(opaque: opaque, outcome: outcome)]) }
        actions.forEach(perform)
    }

    /// Keeps a report for the next ``applyGathered()``: the delivery callback, which librdkafka
    /// calls once per record, takes no lock.
    func gather(opaque: UInt, outcome: Result<Delivery, EventLogError>) {
        gathered.reports.append(Report(opaque: opaque, outcome: outcome))
    }

    /// Applies the gathered reports under one lock and resumes the appends they complete. Call
    /// it on the thread that polled, after `rd_kafka_poll` or `rd_kafka_flush` returned.
    func applyGathered() {
        guard !gathered.reports.isEmpty else { return }
        let actions = state.withLock { [gathered] in $0.apply(gathered.reports) }
        gathered.reports.removeAll(keepingCapacity: true)
        actions.forEach(perform)
    }

    /// Suspends until every record of batch `id` has a report; returns where they landed, in input order.
    ///
    /// - Throws: the first failed report's error, or `.closed` when the log shut down first.
    func wait(for id: UInt32) async throws -> [Delivery] {
        try await withCheckedThrowingContinuation { continuation in
            perform(state.withLock { $0.install(continuation, batch: id) })
        }
    }

    /// Fails batch `id` with `error` (its records could not all be enqueued); its append gets
    /// the error once it waits, and later reports for it are ignored.
    func fail(_ id: UInt32, with error: any Error) {
        perform(state.withLock { $0.fail(id, with: error) })
    }

    /// Fails every waiting append with `.closed` and `reason`, and refuses new batches.
    func close(reason: String) {
        let waiting = state.withLock { $0.close(reason: reason) }
        for continuation in waiting { continuation.resume(throwing: EventLogError(.closed, reason)) }
    }

    private func perform(_ action: State.Action) {
        if case .resume(let continuation, let result) = action { continuation.resume(with: result) }
    }
}
