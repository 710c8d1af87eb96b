import Synchronization

/// The idle, restored instances of one compiled function. An instance is checked out by one
/// worker thread, used for one invocation, restored, and checked back in; it is never shared.
final class InstancePool: Sendable {
    /// An idle instance. Unchecked: the pool hands each one to exactly one thread at a time.
    private struct Idle: @unchecked Sendable {
        let instance: FunctionInstance
    }

    private let idle = Mutex<[Idle]>([])
    /// Instances created and invocations run on a reused instance, for tests and metrics.
    let created = Atomic(0)
    let reused = Atomic(0)

    /// An idle instance, if there is one.
    func checkOut() -> FunctionInstance? {
        guard let instance = idle.withLock({ $0.popLast() })?.instance else { return nil }
        reused.add(1, ordering: .relaxed)
        return instance
    }

    /// Keeps `instance` for a later invocation, unless `capacity` are already idle.
    func checkIn(_ instance: FunctionInstance, capacity: Int) {
        let box = Idle(instance: instance)
        idle.withLock { idle in
            if idle.count < capacity { idle.append(box) }
        }
    }
}
