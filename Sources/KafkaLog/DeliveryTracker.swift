import EventLog
import Synchronization

/// Matches librdkafka delivery reports to the appends that are waiting for them.
///
/// Each append opens a batch; every record it enqueues carries a message opaque that encodes
/// the batch id (high 32 bits) and the record's index in the batch (low 32 bits), so a report
/// can never point at freed memory: a report for a batch that is gone is ignored. The append
/// suspends in ``wait(for:)`` until every record of its batch has a report.
final class DeliveryTracker: Sendable {
    /// The bookkeeping of the open batches, changed only under the lock.
    struct State {
        struct Batch {
            var positions: [RecordPosition?]
            var outstanding: Int
            var failure: EventLogError?
            var continuation: CheckedContinuation<[RecordPosition], any Error>?

            /// Stores one report; `false` when the index is out of range or already reported.
            mutating func record(index: Int, outcome: Result<RecordPosition, EventLogError>) -> Bool {
                guard positions.indices.contains(index), positions[index] == nil else { return false }
                switch outcome {
                case .success(let position): positions[index] = position
                case .failure(let error):
                    failure = failure ?? error
                    positions[index] = RecordPosition(topic: "", partition: -1, offset: -1)
                }
                outstanding -= 1
                return true
            }
        }

        /// What to do after a change, outside the lock.
        enum Action {
            case none
            case resume(CheckedContinuation<[RecordPosition], any Error>, Result<[RecordPosition], any Error>)
        }

        var batches: [UInt32: Batch] = [:]
        var lastID: UInt32 = 0
        var closedReason: String?

        mutating func open(count: Int) throws -> UInt32 {
            if let closedReason { throw EventLogError(.closed, closedReason) }
            repeat { lastID &+= 1 } while lastID == 0 || batches[lastID] != nil
            batches[lastID] = Batch(positions: Array(repeating: nil, count: count), outstanding: count)
            return lastID
        }

        mutating func report(
            batch id: UInt32, index: Int, outcome: Result<RecordPosition, EventLogError>
        )
            -> Action
        {
            // Optional chaining on the subscript updates the batch in place; copying it out
            // would copy its positions array and make every report O(batch size).
            guard batches[id]?.record(index: index, outcome: outcome) == true else { return .none }
            return finishIfDone(id)
        }

        mutating func install(
            _ continuation: CheckedContinuation<[RecordPosition], any Error>, batch id: UInt32
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

        /// Hands a finished batch's result to its waiting append and forgets the batch.
        private mutating func finishIfDone(_ id: UInt32) -> Action {
            guard let batch = batches[id], batch.outstanding == 0, let continuation = batch.continuation else {
                return .none
            }
            batches.removeValue(forKey: id)
            if let failure = batch.failure { return .resume(continuation, .failure(failure)) }
            return .resume(continuation, .success(batch.positions.map { $0! }))
        }

        /// Fails every open batch and refuses new ones.
        mutating func close(reason: String) -> [CheckedContinuation<[RecordPosition], any Error>] {
            closedReason = reason
            defer { batches.removeAll() }
            return batches.values.compactMap(\.continuation)
        }
    }

    private let state = Mutex(State())

    init() {}

    /// Opens a batch of `count` records and returns its id.
    ///
    /// - Throws: `.closed` after ``close(reason:)``.
    func open(count: Int) throws -> UInt32 { try state.withLock { try $0.open(count: count) } }

    /// The message opaque for record `index` of batch `id`.
    static func opaque(batch id: UInt32, index: Int) -> UInt {
        UInt(id) << 32 | UInt(UInt32(truncatingIfNeeded: index))
    }

    /// Records the delivery report of the record behind `opaque`.
    func report(opaque: UInt, outcome: Result<RecordPosition, EventLogError>) {
        let id = UInt32(truncatingIfNeeded: opaque >> 32)
        let index = Int(UInt32(truncatingIfNeeded: opaque))
        perform(state.withLock { $0.report(batch: id, index: index, outcome: outcome) })
    }

    /// Suspends until every record of batch `id` has a report; returns their positions in input order.
    ///
    /// - Throws: the first failed report's error, or `.closed` when the log shut down first.
    func wait(for id: UInt32) async throws -> [RecordPosition] {
        try await withCheckedThrowingContinuation { continuation in
            perform(state.withLock { $0.install(continuation, batch: id) })
        }
    }

    /// Forgets batch `id` (its enqueueing failed); later reports for it are ignored.
    func abandon(_ id: UInt32) {
        _ = state.withLock { $0.batches.removeValue(forKey: id) }
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
