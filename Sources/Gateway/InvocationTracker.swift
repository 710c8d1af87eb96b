import EventLog
import Foundation
import Synchronization
import TributaryModel

/// Follows `function-results` from the gateway's start: hands results to callers waiting on an
/// invocation and keeps the most recent ones for `GET /v1/invocations/{id}`.
final class InvocationTracker: Sendable {
    private struct State {
        var results: [String: Tributary_V1_InvocationResult] = [:]
        var order: [String] = []
        var pending: Set<String> = []
        var pendingOrder: [String] = []
        var waiters: [String: [UUID: CheckedContinuation<Tributary_V1_InvocationResult?, Never>]] = [:]
    }

    enum Lookup {
        case done(Tributary_V1_InvocationResult)
        case pending
        case unknown
    }

    private let log: any EventLog
    private let capacity: Int
    private let state = Mutex(State())
    private let started = Mutex(false)

    init(log: any EventLog, capacity: Int) {
        self.log = log
        self.capacity = max(1, capacity)
    }

    var isRunning: Bool { started.withLock { $0 } }

    /// Reads results until cancelled.
    func run() async throws {
        let reader = try await log.makeReader(topic: StandardTopic.functionResults.name, from: .latest)
        started.withLock { $0 = true }
        defer { started.withLock { $0 = false } }
        do {
            while !Task.isCancelled {
                for record in try await reader.poll(maxRecords: 512, timeout: .seconds(1)) {
                    guard let value = record.value,
                        let result = try? RecordEncoding.decode(
                            Tributary_V1_InvocationResult.self, from: value, contentType: record.contentType)
                    else { continue }
                    deliver(result)
                }
            }
        } catch {
            await reader.close()
            if error is CancellationError || Task.isCancelled { return }
            throw error
        }
        await reader.close()
    }

    /// Marks `id` as produced by this gateway (so lookups answer "pending" until its result).
    func expect(_ id: String) {
        state.withLock { state in
            guard state.pending.insert(id).inserted else { return }
            state.pendingOrder.append(id)
            // Bounded like the results: invocations whose results never come (dead-lettered)
            // are forgotten after `capacity` newer ones.
            if state.pendingOrder.count > capacity * 2 {
                let stale = state.pendingOrder.prefix(state.pendingOrder.count - capacity)
                for id in stale { state.pending.remove(id) }
                state.pendingOrder.removeFirst(stale.count)
            }
        }
    }

    /// The result of `id`, waiting up to `timeout`; nil when it has not arrived by then.
    func result(of id: String, timeout: Duration) async -> Tributary_V1_InvocationResult? {
        let token = UUID()
        return await withCheckedContinuation { continuation in
            let ready = state.withLock { state -> Tributary_V1_InvocationResult? in
                if let result = state.results[id] { return result }
                state.waiters[id, default: [:]][token] = continuation
                return nil
            }
            if let ready {
                continuation.resume(returning: ready)
                return
            }
            // Registered first, so the timer always finds the waiter unless the result came.
            Task { [self] in
                try? await Task.sleep(for: timeout)
                let waiter = state.withLock { state in
                    defer { if state.waiters[id]?.isEmpty == true { state.waiters.removeValue(forKey: id) } }
                    return state.waiters[id]?.removeValue(forKey: token)
                }
                waiter?.resume(returning: nil)
            }
        }
    }

    func lookup(_ id: String) -> Lookup {
        state.withLock { state in
            if let result = state.results[id] { return .done(result) }
            return state.pending.contains(id) ? .pending : .unknown
        }
    }

    private func deliver(_ result: Tributary_V1_InvocationResult) {
        let id = result.invocationID
        let waiters = state.withLock { state in
            if state.results.updateValue(result, forKey: id) == nil { state.order.append(id) }
            state.pending.remove(id)
            if state.order.count > capacity {
                let evicted = state.order.count - capacity
                for old in state.order.prefix(evicted) { state.results.removeValue(forKey: old) }
                state.order.removeFirst(evicted)
            }
            return state.waiters.removeValue(forKey: id)
        }
        for waiter in waiters?.values ?? [:].values { waiter.resume(returning: result) }
    }
}
