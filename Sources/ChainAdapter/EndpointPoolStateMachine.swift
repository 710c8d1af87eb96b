import EventLog

/// Chooses which JSON-RPC endpoint of a chain serves the next request: healthy endpoints by
/// weight and health score, failed ones cooling down with exponential backoff and jitter
/// (or for as long as a 429's `Retry-After` asks), each within its request-rate limit.
///
/// Pure state with an injected clock reading: the pool does the I/O and the sleeping.
struct EndpointPoolStateMachine {
    /// One endpoint's standing.
    struct Standing {
        var weight: Double
        /// 1 is perfect; failures lower it, successes restore it.
        var health = 1.0
        var consecutiveFailures = 0
        var coolingUntil: ContinuousClock.Instant?
        /// Token bucket for the request-rate limit.
        var tokens: Double
        var lastRefill: ContinuousClock.Instant
        let requestsPerSecond: Double?
    }

    /// What the pool should do next.
    enum Action: Equatable {
        /// Send the request to this endpoint.
        case use(Int)
        /// Every endpoint is cooling down or out of tokens: wait this long, then ask again.
        case wait(Duration)
    }

    private(set) var standings: [Standing]
    let baseBackoff: Duration
    let maximumBackoff: Duration

    init(
        endpoints: [(weight: Double, requestsPerSecond: Double?)], now: ContinuousClock.Instant,
        baseBackoff: Duration = .milliseconds(250), maximumBackoff: Duration = .seconds(30)
    ) {
        standings = endpoints.map {
            Standing(
                weight: max(0.01, $0.weight), tokens: max(1, $0.requestsPerSecond ?? 1), lastRefill: now,
                requestsPerSecond: $0.requestsPerSecond)
        }
        self.baseBackoff = baseBackoff
        self.maximumBackoff = maximumBackoff
    }

    /// The endpoint for the next request, avoiding `excluded` (those that already failed this
    /// request) while others are available; `random` in 0..<1 breaks ties between equals.
    mutating func next(now: ContinuousClock.Instant, excluding excluded: Set<Int> = [], random: Double) -> Action {
        var candidates: [(index: Int, score: Double)] = []
        var earliest: Duration?
        // The soonest a not-yet-failed endpoint is free again: rather wait for it than retry one
        // that already failed this request.
        var earliestPreferred: Duration?
        for index in standings.indices {
            refill(index, now: now)
            let standing = standings[index]
            var wait: Duration?
            if let until = standing.coolingUntil, until > now {
                wait = now.duration(to: until)
            } else if standing.requestsPerSecond != nil && standing.tokens < 1 {
                wait = Duration.seconds((1 - standing.tokens) / standing.requestsPerSecond!)
            }
            if let wait {
                earliest = min(earliest ?? wait, wait)
                if !excluded.contains(index) { earliestPreferred = min(earliestPreferred ?? wait, wait) }
                continue
            }
            candidates.append((index, standing.weight * standing.health))
        }
        let preferred = candidates.filter { !excluded.contains($0.index) }
        if preferred.isEmpty, let earliestPreferred { return .wait(earliestPreferred) }
        let pool = preferred.isEmpty ? candidates : preferred
        guard !pool.isEmpty else { return .wait(earliest ?? baseBackoff) }
        // Weighted choice: a better score gets proportionally more traffic.
        let total = pool.reduce(0) { $0 + $1.score }
        var point = random * total
        var chosen = pool[pool.count - 1].index
        for candidate in pool {
            if point < candidate.score {
                chosen = candidate.index
                break
            }
            point -= candidate.score
        }
        if standings[chosen].requestsPerSecond != nil { standings[chosen].tokens -= 1 }
        return .use(chosen)
    }

    /// Records a success: health recovers, backoff resets.
    mutating func succeeded(_ index: Int) {
        standings[index].consecutiveFailures = 0
        standings[index].coolingUntil = nil
        standings[index].health = min(1, standings[index].health + 0.1)
    }

    /// Records a failure: the endpoint cools down for `retryAfter` when the server said so, else
    /// for an exponential backoff with jitter (`random` in 0..<1).
    mutating func failed(_ index: Int, now: ContinuousClock.Instant, retryAfter: Duration?, random: Double) {
        standings[index].consecutiveFailures += 1
        standings[index].health = max(0.05, standings[index].health * 0.5)
        let delay: Duration
        if let retryAfter {
            delay = retryAfter
        } else {
            let exponent = min(standings[index].consecutiveFailures - 1, 16)
            let backoff = min(maximumBackoff, baseBackoff * (1 << exponent))
            delay = backoff * (0.5 + random / 2)  // "equal jitter": between half and all of it
        }
        standings[index].coolingUntil = now.advanced(by: delay)
    }

    private mutating func refill(_ index: Int, now: ContinuousClock.Instant) {
        guard let rate = standings[index].requestsPerSecond else { return }
        let elapsed = standings[index].lastRefill.duration(to: now)
        let seconds = elapsed.secondsValue
        standings[index].tokens = min(max(1, rate), standings[index].tokens + seconds * rate)
        standings[index].lastRefill = now
    }
}
