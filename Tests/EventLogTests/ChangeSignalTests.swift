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

    @Test func aWaiterOnATopicIsWokenByItsAppendAndNotByOthers() async {
        let signal = ChangeSignal()
        let stamp = signal.stamp(for: ["a"])
        let started = ContinuousClock.now
        // The timeout is far beyond the test: returning at all means it was woken.
        let waiter = Task { await signal.wait(for: ["a"], whileStampIs: stamp, timeout: .seconds(600)) }
        signal.notify(topics: ["b"])
        signal.notify(topics: ["c", "d"])
        signal.notify(topics: ["a", "c"])
        await waiter.value
        #expect(ContinuousClock.now - started < .seconds(600))
        // A stale stamp returns at once; so does an everything waiter after any append.
        await signal.wait(for: ["a"], whileStampIs: stamp, timeout: .seconds(600))
        let version = signal.version
        let everything = Task { await signal.wait(whileVersionIs: version, timeout: .seconds(600)) }
        signal.notify(topics: ["z"])
        await everything.value
        #expect(ContinuousClock.now - started < .seconds(600))
    }
}
