import EVM
import EventLog
import Foundation
import Logging
import Metrics
import Synchronization

/// The JSON-RPC endpoints of one chain behind one client: requests go to the best healthy
/// endpoint; errors, timeouts and 429s fail over to the others with backoff and jitter, honouring
/// `Retry-After`; a client-side rate limit spaces requests per endpoint. Batched requests go to one
/// endpoint in one HTTP request.
public final class EndpointPool: Sendable {
    private let endpoints: [JSONRPCEndpoint]
    private let transport: HTTPJSONRPCTransport
    private let machine: Mutex<EndpointPoolStateMachine>
    private let nextID = Mutex(1)
    private let maximumAttempts: Int
    private let logger: Logger

    /// Creates a pool over `endpoints`.
    ///
    /// - Parameters:
    ///   - timeout: per request. Default: 10 s.
    ///   - maximumAttempts: tries per request across endpoints before giving up. Default: 6.
    ///   - baseBackoff: the first cool-down of a failed endpoint; it doubles per consecutive
    ///     failure, with jitter. Default: 250 ms.
    ///   - maximumBackoff: the longest cool-down. Default: 30 s.
    public init(
        endpoints: [JSONRPCEndpoint], timeout: Duration = .seconds(10), maximumAttempts: Int = 6,
        baseBackoff: Duration = .milliseconds(250), maximumBackoff: Duration = .seconds(30),
        logger: Logger = Logger(label: "tributary.rpc")
    ) {
        precondition(!endpoints.isEmpty, "a chain needs at least one endpoint")
        self.endpoints = endpoints
        self.transport = HTTPJSONRPCTransport(timeout: timeout)
        self.machine = Mutex(
            EndpointPoolStateMachine(
                endpoints: endpoints.map { ($0.weight, $0.requestsPerSecond) }, now: .now, baseBackoff: baseBackoff,
                maximumBackoff: maximumBackoff))
        self.maximumAttempts = max(1, maximumAttempts)
        self.logger = logger
    }

    /// Calls `method` and decodes the result; transient failures are retried on other endpoints.
    ///
    /// - Throws: ``ChainAdapterError``: `.tooManyResults`, `.rangeTooLarge` and `.rpcError` at once
    ///   (the caller adapts), others after `maximumAttempts` tries; a `decode` failure counts as a
    ///   malformed answer from that endpoint.
    public func call<Result>(
        _ method: String, _ params: [Any], decode: (Any) throws -> Result
    ) async throws -> Result {
        try await batch([(method, params)]) { try decode($0[0].get()) }
    }

    /// Sends several calls in one HTTP request to one endpoint; `decode` gets the results in order.
    public func batch<Result>(
        _ calls: [(method: String, params: [Any])], decode: ([Swift.Result<Any, ChainAdapterError>]) throws -> Result
    ) async throws -> Result {
        let firstID = nextID.withLock { id in
            defer { id += calls.count }
            return id
        }
        let ids = Array(firstID..<(firstID + calls.count))
        let requests: [[String: Any]] = zip(ids, calls).map { id, call in
            ["jsonrpc": "2.0", "id": id, "method": call.method, "params": call.params]
        }
        let body = Array(try JSONSerialization.data(withJSONObject: calls.count == 1 ? requests[0] : requests))
        var failed: Set<Int> = []
        var lastError: ChainAdapterError?
        var attempts = 0
        while attempts < maximumAttempts {
            let action = machine.withLock { $0.next(now: .now, excluding: failed, random: .random(in: 0..<1)) }
            let index: Int
            switch action {
            case .use(let chosen): index = chosen
            case .wait(let wait):
                // Every endpoint is cooling down or rate-limited: waiting is not an attempt.
                try await Task.sleep(for: wait)
                continue
            }
            attempts += 1
            let endpoint = endpoints[index]
            let started = ContinuousClock.now
            do {
                let response = try await transport.post(body, to: endpoint)
                let results = try JSONRPCResponseParser.results(response, expectedIDs: ids)
                let decoded: Result
                do {
                    decoded = try decode(ids.map { results[$0]! })
                } catch let error as ChainAdapterError where !error.isTransient {
                    machine.withLock { $0.succeeded(index) }  // the endpoint answered; the request is at fault
                    throw error
                } catch let error as ChainAdapterError {
                    throw error
                } catch {
                    throw ChainAdapterError(.malformedResponse, "\(endpoint.redacted): \(error)")
                }
                machine.withLock { $0.succeeded(index) }
                Timer(label: "tributary_rpc_request_duration_seconds", dimensions: [("endpoint", endpoint.redacted)])
                    .recordInterval(since: started)
                return decoded
            } catch let error as ChainAdapterError where error.isTransient {
                Counter(
                    label: "tributary_rpc_errors_total",
                    dimensions: [("endpoint", endpoint.redacted), ("kind", error.code.description)]
                ).increment()
                logger.debug(
                    "JSON-RPC attempt failed", metadata: ["endpoint": "\(endpoint.redacted)", "reason": "\(error)"])
                // A rate-limited endpoint is alive: its Retry-After cool-down governs it, and waiting
                // for it beats retrying one that is down.
                if error.code != .rateLimited { failed.insert(index) }
                lastError = error
                machine.withLock {
                    $0.failed(index, now: .now, retryAfter: error.retryAfter, random: .random(in: 0..<1))
                }
            }
        }
        throw lastError ?? ChainAdapterError(.unavailable, "no endpoint answered")
    }

    /// Closes connections.
    public func shutdown() async {
        await transport.shutdown()
    }
}

extension Timer {
    fileprivate func recordInterval(since start: ContinuousClock.Instant) {
        recordNanoseconds(start.duration(to: .now).wholeNanoseconds)
    }
}
