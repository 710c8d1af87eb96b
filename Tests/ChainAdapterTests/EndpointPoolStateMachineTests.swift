import Testing

@testable import ChainAdapter

@Suite struct EndpointPoolStateMachineTests {
    let start = ContinuousClock.now

    @Test func failsOverAndComesBackAfterTheBackoff() {
        var machine = EndpointPoolStateMachine(endpoints: [(1, nil), (1, nil)], now: start)
        #expect(machine.next(now: start, random: 0.1) == .use(0))
        machine.failed(0, now: start, retryAfter: nil, random: 0)
        // Endpoint 0 cools down for half of the 250 ms base backoff (zero jitter draw).
        #expect(machine.next(now: start, random: 0.1) == .use(1))
        #expect(machine.next(now: start.advanced(by: .milliseconds(100)), random: 0.0) == .use(1))
        #expect(machine.next(now: start.advanced(by: .milliseconds(130)), random: 0.0) == .use(0))
    }

    @Test func honoursRetryAfterAndWaitsWhenEveryoneIsCooling() {
        var machine = EndpointPoolStateMachine(endpoints: [(1, nil)], now: start)
        machine.failed(0, now: start, retryAfter: .seconds(2), random: 0.5)
        #expect(machine.next(now: start, random: 0.5) == .wait(.seconds(2)))
        #expect(machine.next(now: start.advanced(by: .seconds(2)), random: 0.5) == .use(0))
    }

    @Test func waitsForARateLimitedEndpointRatherThanRetryingOneThatFailed() {
        let now = ContinuousClock.now
        var machine = EndpointPoolStateMachine(endpoints: [(100, nil), (1, nil)], now: now)
        machine.failed(0, now: now, retryAfter: nil, random: 0)  // down: short cool-down
        machine.failed(1, now: now, retryAfter: .seconds(1), random: 0)  // 429 with Retry-After: 1
        let later = now.advanced(by: .milliseconds(300))  // endpoint 0 cooled down, 1 has not
        #expect(machine.next(now: later, excluding: [0], random: 0) == .wait(.milliseconds(700)))
        #expect(machine.next(now: later, excluding: [], random: 0) == .use(0), "a new request may try it again")
    }

    @Test func backoffGrowsExponentiallyWithJitterAndIsCapped() {
        var machine = EndpointPoolStateMachine(
            endpoints: [(1, nil)], now: start, baseBackoff: .milliseconds(100), maximumBackoff: .seconds(1))
        var waits: [Duration] = []
        for _ in 0..<6 {
            machine.failed(0, now: start, retryAfter: nil, random: 0.999_999)
            if case .wait(let wait) = machine.next(now: start, random: 0) { waits.append(wait) }
        }
        #expect(waits.count == 6)
        #expect(zip(waits, waits.dropFirst()).allSatisfy { $0 <= $1 })
        #expect(waits.last! <= .seconds(1))
        #expect(waits.first! < .milliseconds(101))
    }

    @Test func rateLimitSpacesRequests() {
        var machine = EndpointPoolStateMachine(endpoints: [(1, 10)], now: start)
        var used = 0
        for _ in 0..<20 where machine.next(now: start, random: 0) == .use(0) { used += 1 }
        #expect(used == 10, "a full bucket holds one second of requests")
        guard case .wait(let wait) = machine.next(now: start, random: 0) else {
            Issue.record("expected to wait for a token")
            return
        }
        #expect(wait <= .milliseconds(100))
        #expect(machine.next(now: start.advanced(by: .milliseconds(100)), random: 0) == .use(0))
    }

    @Test func weightsAndHealthShareTraffic() {
        var machine = EndpointPoolStateMachine(endpoints: [(3, nil), (1, nil)], now: start)
        var counts = [0, 0]
        for step in 0..<1000 {
            if case .use(let index) = machine.next(now: start, random: Double(step) / 1000) { counts[index] += 1 }
        }
        #expect(counts[0] == 750 && counts[1] == 250)
        #expect(
            machine.next(now: start, excluding: [0], random: 0) == .use(1), "a request avoids endpoints that failed it")
    }
}
