import Synchronization

/// A reader over a ``PartitionStore`` at explicit offsets; shared by the in-memory and embedded logs.
package final class InProcessReader: LogReader {
    private struct State {
        var positions: [TopicPartition: Int64]
        var nextPartitionIndex = 0
        var closed = false
    }
    private let store: any PartitionStore
    private let state: Mutex<State>

    /// Creates a reader that starts at `positions` (already resolved offsets).
    package init(store: any PartitionStore, positions: [TopicPartition: Int64]) {
        self.store = store
        self.state = Mutex(State(positions: positions))
    }

    /// Moves to new positions (used by the group consumer after a rebalance).
    package func reposition(_ positions: [TopicPartition: Int64]) {
        state.withLock { $0.positions = positions }
    }

    /// The current positions.
    package var positions: [TopicPartition: Int64] { state.withLock { $0.positions } }

    package func poll(maxRecords: Int, timeout: Duration) async throws -> [LogRecord] {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        while true {
            // One snapshot for what to wait on and what to read, so a reposition in between
            // cannot leave the wait on other topics than the read.
            let (partitions, startIndex) = try state.withLock { state in
                guard !state.closed else { throw EventLogError(.closed, "the reader is closed") }
                return (state.positions.sorted(by: { $0.key < $1.key }), state.nextPartitionIndex)
            }
            let topics = Set(partitions.map(\.key.topic))
            let stamp = store.changes.stamp(for: topics)
            let records = try await fetchOnce(partitions, startIndex: startIndex, maxRecords: max(1, maxRecords))
            if !records.isEmpty { return records }
            let remaining = ContinuousClock.now.duration(to: deadline)
            if remaining <= .zero || Task.isCancelled { return [] }
            let wait = store.idleRecheckInterval.map { min($0, remaining) } ?? remaining
            await store.changes.wait(for: topics, whileStampIs: stamp, timeout: wait)
        }
    }

    private func fetchOnce(
        _ partitions: [(key: TopicPartition, value: Int64)], startIndex: Int, maxRecords: Int
    ) async throws -> [LogRecord] {
        guard !partitions.isEmpty else { return [] }
        // Rotate the starting partition so one busy partition cannot starve the others.
        let order = (0..<partitions.count).map { step in
            let (partition, offset) = partitions[(startIndex + step) % partitions.count]
            return (partition: partition, offset: offset)
        }
        // `fetch` returns what is at or after each offset, so records retention removed are skipped.
        let result = try await store.fetch(order, limit: maxRecords)
        var advanced: [TopicPartition: Int64] = [:]
        for (index, record) in result.enumerated() {
            let next = result.index(after: index)
            // Each partition's records are contiguous: its last one sets its position.
            if next == result.endIndex || result[next].partition != record.partition
                || result[next].topic != record.topic
            {
                advanced[record.topicPartition] = record.offset + 1
            }
        }
        state.withLock { state in
            for (partition, offset) in advanced where state.positions[partition] != nil {
                state.positions[partition] = offset
            }
            state.nextPartitionIndex = (startIndex + 1) % partitions.count
        }
        return result
    }

    package func close() async {
        state.withLock { $0.closed = true }
    }
}
