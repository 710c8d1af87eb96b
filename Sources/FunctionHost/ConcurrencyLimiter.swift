/// Per-function concurrency limits: at most `limit` invocations of one function run at once; the
/// rest wait their turn in arrival order, so one busy function cannot take every worker.
actor ConcurrencyLimiter {
    private var running: [String: Int] = [:]
    private var waiting: [String: [CheckedContinuation<Void, Never>]] = [:]

    /// Runs `body` once fewer than `limit` invocations of `key` are running (0 means no limit).
    /// Without a limit it runs at once, without the two hops onto the actor.
    nonisolated func run<Result: Sendable>(
        _ key: String, limit: Int, _ body: @Sendable () async -> Result
    ) async -> Result {
        guard limit > 0 else { return await body() }
        return await runLimited(key, limit: limit, body)
    }

    private func runLimited<Result: Sendable>(
        _ key: String, limit: Int, _ body: @Sendable () async -> Result
    ) async -> Result {
        if running[key, default: 0] >= limit {
            await withCheckedContinuation { waiting[key, default: []].append($0) }
        } else {
            running[key, default: 0] += 1
        }
        let result = await body()
        release(key)
        return result
    }

    /// Hands the slot to the next waiter, or frees it.
    private func release(_ key: String) {
        if var queue = waiting[key], !queue.isEmpty {
            let next = queue.removeFirst()
            waiting[key] = queue.isEmpty ? nil : queue
            next.resume()  // the slot passes on: `running` stays the same
        } else {
            running[key, default: 1] -= 1
            if running[key] == 0 { running[key] = nil }
        }
    }
}
