import EventLog
import Testing

/// Appends wake the readers of their topics only; ``ChangeSignal/notify()`` still wakes everyone.
@Suite struct ChangeSignalTests {
    @Test func stampsMoveOnlyForTheirTopicsOrForEverything() {
        let signal = ChangeSignal()
        let a = signal.stamp(for: ["a"])
        let ab = signal.stamp(for: ["a", "b"])
        let version = signal.version
        signal.notify(topics: ["b"])
        #expect(signal.stamp(for: ["a"]) == a, "an append to b moved a's stamp")
        #expect(signal.stamp(for: ["a", "b"]) != ab)
        #expect(signal.version != version, "the version moves on every change")
        signal.notify(topics: ["a"])
        #expect(signal.stamp(for: ["a"]) != a)
        let afterA = signal.stamp(for: ["a"])
        let empty = signal.stamp(for: [])
        signal.notify()
        #expect(signal.stamp(for: ["a"]) != afterA, "notify() concerns every topic")
        #expect(signal.stamp(for: []) != empty, "a reader with no partitions yet must see a rebalance")
    }

    /// Waits (up to a minute) until `count` tasks wait on `signal`.
    static func waitForWaiters(_ count: Int, on signal: ChangeSignal) async throws {
        let deadline = ContinuousClock.now + .seconds(60)
        while signal.waiterCount < count, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(1)) }
        try #require(signal.waiterCount == count, "the waiter never registered")
    }

    @Test func aWaiterOnATopicIsWokenByItsAppendAndNotByOthers() async throws {
        let signal = ChangeSignal()
        let stamp = signal.stamp(for: ["a"])
        let waiter = Task { await signal.wait(for: ["a"], whileStampIs: stamp, timeout: .seconds(600)) }
        try await Self.waitForWaiters(1, on: signal)
        // Woken waiters leave the list inside notify, so these checks need no waiting.
        signal.notify(topics: ["b"])
        signal.notify(topics: ["c", "d"])
        #expect(signal.waiterCount == 1, "an append to other topics woke the waiter")
        signal.notify(topics: ["a", "c"])
        #expect(signal.waiterCount == 0, "an append to its topic did not wake the waiter")
        await waiter.value
        // A stale stamp returns at once.
        await signal.wait(for: ["a"], whileStampIs: stamp, timeout: .seconds(600))

        // A waiter on everything is woken by an append to any topic.
        let version = signal.version
        let everything = Task { await signal.wait(whileVersionIs: version, timeout: .seconds(600)) }
        try await Self.waitForWaiters(1, on: signal)
        signal.notify(topics: ["z"])
        #expect(signal.waiterCount == 0)
        await everything.value
    }
}
