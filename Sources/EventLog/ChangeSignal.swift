import Synchronization

/// Wakes readers when a log changes: version counters plus the tasks waiting for them to move.
///
/// Appends name their topics (``notify(topics:)``), so a reader waiting on other topics sleeps on:
/// with every role in one process, each append used to wake every reader, and each woken reader
/// queried all of its partitions for nothing, on the cores the next stage needed.
package final class ChangeSignal: Sendable {
    private struct Waiter {
        /// `nil`: woken by every change.
        var topics: Set<String>?
        var continuation: CheckedContinuation<Void, Never>
    }
    private struct State {
        /// Moves on every change.
        var version: UInt64 = 0
        /// Moves on changes that concern every topic (``notify()``).
        var everythingVersion: UInt64 = 0
        var topicVersions: [String: UInt64] = [:]
        var nextWaiterID: UInt64 = 0
        var waiters: [UInt64: Waiter] = [:]

        func stamp(for topics: Set<String>?) -> UInt64 {
            guard let topics else { return version }
            // Every counter only grows, so the sum moves exactly when one of them does.
            return topics.reduce(everythingVersion) { $0 &+ (topicVersions[$1] ?? 0) }
        }
    }
    private let state = Mutex(State())

    package init() {}

    /// The current version; read it before looking for data, then wait on it.
    package var version: UInt64 { state.withLock { $0.version } }

    /// How many tasks are waiting now.
    package var waiterCount: Int { state.withLock { $0.waiters.count } }

    /// The current stamp of `topics`: it moves when one of them changes or on ``notify()``.
    package func stamp(for topics: Set<String>) -> UInt64 { state.withLock { $0.stamp(for: topics) } }

    /// Bumps the version and wakes every waiter.
    package func notify() {
        let waiters = state.withLock { state in
            state.version &+= 1
            state.everythingVersion &+= 1
            defer { state.waiters.removeAll() }
            return Array(state.waiters.values)
        }
        for waiter in waiters { waiter.continuation.resume() }
    }

    /// The distinct names in `topics`, each compared with the one before it first: an append's
    /// records mostly share a topic, and hashing every record's topic name added up.
    package static func distinct(_ topics: some Sequence<String>) -> Set<String> {
        var distinct = Set<String>()
        var previous: String?
        for topic in topics where topic != previous {
            distinct.insert(topic)
            previous = topic
        }
        return distinct
    }

    /// Records a change to `topics` and wakes the waiters on any of them (and those on everything).
    package func notify(topics: Set<String>) {
        var woken: [CheckedContinuation<Void, Never>] = []
        state.withLock { state in
            state.version &+= 1
            for topic in topics { state.topicVersions[topic, default: 0] &+= 1 }
            for (id, waiter) in state.waiters where waiter.topics.map({ !$0.isDisjoint(with: topics) }) ?? true {
                woken.append(waiter.continuation)
                state.waiters[id] = nil
            }
        }
        for continuation in woken { continuation.resume() }
    }

    /// Returns when the version differs from `version`, the timeout passes, or the task is cancelled.
    package func wait(whileVersionIs version: UInt64, timeout: Duration) async {
        await wait(topics: nil, whileStampIs: version, timeout: timeout)
    }

    /// Returns when the stamp of `topics` differs from `stamp`, the timeout passes, or the task is
    /// cancelled.
    package func wait(for topics: Set<String>, whileStampIs stamp: UInt64, timeout: Duration) async {
        await wait(topics: topics, whileStampIs: stamp, timeout: timeout)
    }

    private func wait(topics: Set<String>?, whileStampIs stamp: UInt64, timeout: Duration) async {
        guard timeout > .zero else { return }
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.waitForChange(topics: topics, from: stamp) }
            group.addTask { try? await Task.sleep(for: timeout) }
            await group.next()
            group.cancelAll()
        }
    }

    private func waitForChange(topics: Set<String>?, from stamp: UInt64) async {
        let id = state.withLock { state in
            defer { state.nextWaiterID &+= 1 }
            return state.nextWaiterID
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { state in
                    if state.stamp(for: topics) != stamp || Task.isCancelled { return true }
                    state.waiters[id] = Waiter(topics: topics, continuation: continuation)
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            let waiter = state.withLock { $0.waiters.removeValue(forKey: id) }
            waiter?.continuation.resume()
        }
    }
}
