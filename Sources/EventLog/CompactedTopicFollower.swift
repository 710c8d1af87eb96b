import Synchronization

/// Keeps a ``CompactedTopicView`` of a compacted topic current: loads it from the beginning,
/// then applies every record appended later. Registry topics (`tributary.functions`,
/// `tributary.triggers`, `tributary.keys`) are materialized this way by every role.
public final class CompactedTopicFollower: Sendable {
    private struct State {
        var view = CompactedTopicView()
        var version = 0
        var loaded = false
        /// Per partition, the offset after the last applied record.
        var applied: [Int: Int64] = [:]
    }
    private let log: any EventLog
    /// The topic followed.
    public let topic: String
    private let state = Mutex(State())
    private let loadedSignal = ChangeSignal()
    private let appliedSignal = ChangeSignal()

    /// Creates a follower of `topic`; ``run()`` does the reading.
    public init(log: any EventLog, topic: String) {
        self.log = log
        self.topic = topic
    }

    /// The current view and its version (which grows with every applied batch).
    public var snapshot: (view: CompactedTopicView, version: Int) {
        state.withLock { ($0.view, $0.version) }
    }

    /// Whether the view has caught up with the topic as it was when ``run()`` started.
    public var isLoaded: Bool { state.withLock { $0.loaded } }

    /// Reads the topic until the task is cancelled.
    public func run() async throws {
        let description = try await log.describeTopic(topic)
        let loaded = try await CompactedTopicView.load(topic: topic, from: log, until: description)
        var positions: [TopicPartition: LogPosition] = [:]
        for partition in description.partitions {
            positions[TopicPartition(topic: topic, partition: partition.partition)] = .offset(partition.endOffset)
        }
        state.withLock { state in
            state.view = loaded
            state.version += 1
            state.loaded = true
            for partition in description.partitions { state.applied[partition.partition] = partition.endOffset }
        }
        loadedSignal.notify()
        appliedSignal.notify()
        let reader = try await log.makeReader(from: positions)
        do {
            while !Task.isCancelled {
                let records = try await reader.poll(maxRecords: 1000, timeout: .milliseconds(500))
                guard !records.isEmpty else { continue }
                state.withLock { state in
                    state.view.apply(records)
                    state.version += 1
                    for record in records {
                        state.applied[record.partition] = max(state.applied[record.partition] ?? 0, record.offset + 1)
                    }
                }
                appliedSignal.notify()
            }
        } catch {
            await reader.close()
            // Cancellation is how a follower is stopped (some stores throw it from reads).
            if error is CancellationError || Task.isCancelled { return }
            throw error
        }
        await reader.close()
    }

    /// Returns true once the view includes every record at `positions` (of this topic), false if
    /// that has not happened within `timeout`: how a writer reads its own writes.
    public func waitUntilApplied(_ positions: [RecordPosition], timeout: Duration) async -> Bool {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        while !Task.isCancelled {
            let version = appliedSignal.version
            let done = state.withLock { state in
                positions.allSatisfy { $0.topic != topic || (state.applied[$0.partition] ?? 0) > $0.offset }
            }
            if done { return true }
            let remaining = deadline - ContinuousClock.now
            guard remaining > .zero else { return false }
            await appliedSignal.wait(whileVersionIs: version, timeout: min(remaining, .milliseconds(500)))
        }
        return false
    }

    /// Returns once the view is loaded (or the task is cancelled).
    public func waitUntilLoaded() async {
        while !isLoaded && !Task.isCancelled {
            let version = loadedSignal.version
            if isLoaded { return }
            await loadedSignal.wait(whileVersionIs: version, timeout: .seconds(1))
        }
    }
}
