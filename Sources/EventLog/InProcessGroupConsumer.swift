import Foundation
import Synchronization

/// The consumer groups of one in-process log.
package final class InProcessGroupCoordinator: Sendable {
    private let groups = Mutex<[String: ConsumerGroupStateMachine]>([:])

    package init() {}

    package func join(group: String, member: String, topics: [String]) {
        groups.withLock { $0[group, default: ConsumerGroupStateMachine()].join(member: member, topics: topics) }
    }

    package func leave(group: String, member: String) {
        groups.withLock { _ = $0[group]?.leave(member: member) }
    }

    /// The member's generation and assignment, or `nil` when it is no longer in the group.
    package func assignment(
        group: String, member: String, partitionCounts: [String: Int]
    ) -> (generation: Int, partitions: Set<TopicPartition>)? {
        groups.withLock { groups in
            guard let machine = groups[group], machine.contains(member: member) else { return nil }
            return (machine.generation, machine.assignment(of: member, partitionCounts: partitionCounts))
        }
    }

    package func generation(of group: String) -> Int {
        groups.withLock { $0[group]?.generation ?? 0 }
    }
}

/// A group member over a ``PartitionStore``; shared by the in-memory and embedded logs.
package final class InProcessGroupConsumer: GroupConsumer {
    private struct State {
        var generation = -1
        var closed = false
    }
    private let store: any PartitionStore
    private let coordinator: InProcessGroupCoordinator
    private let group: String
    private let member = UUID().uuidString
    private let initialPosition: LogPosition
    private let reader: InProcessReader
    private let state = Mutex(State())

    /// Joins `group` for `topics`.
    package init(
        store: any PartitionStore, coordinator: InProcessGroupCoordinator, group: String, topics: [String],
        initialPosition: LogPosition
    ) {
        self.store = store
        self.coordinator = coordinator
        self.group = group
        self.initialPosition = initialPosition
        self.reader = InProcessReader(store: store, positions: [:])
        coordinator.join(group: group, member: member, topics: topics)
        store.changes.notify()  // wake other members so they pick up the rebalance promptly
    }

    package func poll(maxRecords: Int, timeout: Duration) async throws -> [LogRecord] {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        while true {
            try await refreshAssignment()
            let remaining = ContinuousClock.now.duration(to: deadline)
            // Poll in short slices so a rebalance is noticed while waiting.
            let slice = min(max(remaining, .zero), .milliseconds(100))
            let records = try await reader.poll(maxRecords: maxRecords, timeout: slice)
            if !records.isEmpty || remaining <= .zero || Task.isCancelled { return records }
        }
    }

    /// Applies a new generation: owned partitions keep their position, new ones start at the
    /// committed offset (or the initial position).
    private func refreshAssignment() async throws {
        let closed = state.withLock { $0.closed }
        guard !closed else { throw EventLogError(.closed, "the consumer is closed") }
        let counts = try await store.partitionCounts()
        guard let (generation, owned) = coordinator.assignment(group: group, member: member, partitionCounts: counts)
        else { throw EventLogError(.closed, "the consumer left group '\(group)'") }
        guard generation != state.withLock({ $0.generation }) else { return }
        let committed = try await store.committedOffsets(group: group)
        let current = reader.positions
        var positions: [TopicPartition: Int64] = [:]
        for partition in owned {
            if let offset = current[partition] {
                positions[partition] = offset
            } else if let offset = committed[partition] {
                positions[partition] = try await store.resolve(.offset(offset), in: partition)
            } else {
                positions[partition] = try await store.resolve(initialPosition, in: partition)
            }
        }
        reader.reposition(positions)
        state.withLock { $0.generation = generation }
    }

    package func commit(_ offsets: [TopicPartition: Int64]) async throws {
        let owned = try await assignment()
        let kept = offsets.filter { owned.contains($0.key) }
        guard !kept.isEmpty else { return }
        try await store.storeCommittedOffsets(kept, group: group)
    }

    package func assignment() async throws -> Set<TopicPartition> {
        try await refreshAssignment()
        return Set(reader.positions.keys)
    }

    deinit {
        // A member dropped without close() must not keep its partitions for the life of the process.
        if !state.withLock({ $0.closed }) {
            coordinator.leave(group: group, member: member)
            store.changes.notify()
        }
    }

    package func close() async {
        let wasOpen = state.withLock { state in
            defer { state.closed = true }
            return !state.closed
        }
        guard wasOpen else { return }
        await reader.close()
        coordinator.leave(group: group, member: member)
        store.changes.notify()
    }
}
