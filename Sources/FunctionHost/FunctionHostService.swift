import EventLog
import Foundation
import Logging
import Metrics
import ServiceLifecycle
import SwiftProtobuf
import Synchronization
import TributaryModel

/// The wasm-host role: consumes `function-invocations` in a group, runs each invocation on a
/// bounded pool of dedicated threads, and produces its `InvocationResult` to `function-results`
/// keyed by invocation id. Offsets are committed only after every result of the batch is
/// acknowledged. An invocation that cannot be read, or names a function that is not deployed,
/// goes to `function-invocations.dlq` with the reason; everything a function does wrong is a
/// result with its status. Functions come from `tributary.functions`, so every host sees every
/// deploy; modules are compiled once per content hash and manifest.
public struct FunctionHostService: Service {
    /// Settings of the host role.
    public struct Configuration: Sendable {
        /// The consumer group. Default: `tributary-wasm-host`.
        public var group: String
        /// Worker threads running guest code. Default: the number of cores.
        public var workers: Int
        /// Invocations taken per poll. Default: 64.
        public var batchSize: Int
        /// Limit defaults and maximums. Default: see ``FunctionLimitPolicy``.
        public var policy: FunctionLimitPolicy
        /// How result values are written. Default: `.json`.
        public var encoding: RecordEncoding
        /// Runs of an invocation that times out (the one transient failure: the wall clock depends
        /// on the machine's load) before it goes to the dead-letter topic. Default: 3.
        public var timeoutAttempts: Int

        /// Creates a configuration; every parameter defaults as documented on its property.
        public init(
            group: String = "tributary-wasm-host", workers: Int = ProcessInfo.processInfo.activeProcessorCount,
            batchSize: Int = 64, policy: FunctionLimitPolicy = FunctionLimitPolicy(), encoding: RecordEncoding = .json,
            timeoutAttempts: Int = 3
        ) {
            self.timeoutAttempts = max(1, timeoutAttempts)
            self.group = group
            self.workers = workers
            self.batchSize = batchSize
            self.policy = policy
            self.encoding = encoding
        }
    }

    private let log: any EventLog
    private let configuration: Configuration
    private let logger: Logger
    private let runtime: FunctionRuntime
    private let deployed = DeployedFunctions()
    private let limiter = ConcurrencyLimiter()
    private let metrics = HostMetrics()

    /// Creates the role over `log`.
    public init(
        log: any EventLog, configuration: Configuration = Configuration(),
        logger: Logger = Logger(label: "tributary.wasm-host")
    ) {
        self.log = log
        self.configuration = configuration
        self.logger = logger
        runtime = FunctionRuntime(idleInstancesPerFunction: configuration.workers)
    }

    public func run() async throws {
        let pool = WorkerPool(threads: configuration.workers, name: "wasm-worker")
        defer { pool.stop() }
        let restarts = Counter(label: "tributary_wasm_host_restarts_total")
        var backoff = Duration.seconds(1)
        while !Task.isCancelled {
            do {
                try await serve(pool: pool)
                return
            } catch {
                // The log failed (an append or commit): uncommitted invocations are redelivered.
                restarts.increment()
                logger.warning("wasm-host failed; starting again in \(backoff)", metadata: ["reason": "\(error)"])
                guard (try? await Task.sleep(for: backoff)) != nil else { return }
                backoff = min(backoff * 2, .seconds(30))
            }
        }
    }

    private func serve(pool: WorkerPool) async throws {
        let functions = CompactedTopicFollower(log: log, topic: StandardTopic.functions.name)
        do {
            try await withThrowingDiscardingTaskGroup { group in
                group.addTask { try await functions.run() }
                await functions.waitUntilLoaded()
                try await GroupConsumerLoop.run(
                    log: log, group: configuration.group, topic: StandardTopic.functionInvocations.name,
                    role: "wasm-host", logger: logger
                ) { consumer in
                    while !Task.isCancelled {
                        let records = try await consumer.poll(
                            maxRecords: configuration.batchSize, timeout: .milliseconds(250))
                        guard !records.isEmpty else { continue }
                        let view = functions.snapshot.view
                        let output = await withTaskGroup(of: (Int, OutgoingRecord).self) { group in
                            for (index, record) in records.enumerated() {
                                group.addTask { (index, await handle(record, functions: view, pool: pool)) }
                            }
                            var output: [(Int, OutgoingRecord)] = []
                            for await produced in group { output.append(produced) }
                            return output.sorted { $0.0 < $1.0 }.map(\.1)
                        }
                        _ = try await log.append(output)
                        try await consumer.commit(records.nextOffsets)
                    }
                }
                group.cancelAll()
            }
        } catch is CancellationError {
        }
    }

    /// The result (or dead letter) for one invocation record.
    private func handle(_ record: LogRecord, functions: CompactedTopicView, pool: WorkerPool) async -> OutgoingRecord {
        let request: Tributary_V1_InvocationRequest
        do {
            request = try RecordEncoding.decode(
                Tributary_V1_InvocationRequest.self, from: record.value ?? [], contentType: record.contentType)
        } catch {
            return deadLetter(record, "not an invocation request: \(error)")
        }
        let key =
            request.functionVersion == 0 ? request.functionName : "\(request.functionName)@\(request.functionVersion)"
        guard let stored = functions.values[Array(key.utf8)],
            let (function, compiledFunction) = deployed.resolve(stored, policy: configuration.policy, logger: logger)
        else {
            return deadLetter(
                record,
                "function '\(request.functionName)' version \(request.functionVersion == 0 ? "latest" : "\(request.functionVersion)") is not deployed"
            )
        }
        if request.hasDeadline, request.deadline.date < Date() {
            return deadLetter(record, "its deadline (\(request.deadline.date)) passed before it could run")
        }
        var outcome: InvocationOutcome
        switch compiledFunction {
        case .success(let compiledFunction):
            let input = Self.input(for: request, environment: function.manifest.environment)
            var attempt = 1
            while true {
                outcome = await limiter.run(
                    function.name, limit: Int(function.manifest.limits.maxConcurrency)
                ) { [runtime] in
                    await pool.run { runtime.execute(compiledFunction, input: input) }
                }
                guard outcome.status == .timeout else { break }
                guard attempt < configuration.timeoutAttempts else {
                    return deadLetter(record, "timed out on all \(attempt) attempts: \(outcome.error)")
                }
                try? await Task.sleep(for: .milliseconds(100 << attempt))
                attempt += 1
            }
        case .failure(let error):
            outcome = InvocationOutcome(
                status: .invalidModule, output: [], logs: [], fuelUsed: 0, error: error.reason, duration: .zero)
        }
        let status = outcome.status
        metrics.invocations(status).increment()
        // Debug level: a failing function can fail thousands of times a second; the status
        // counter and the result's `error` carry the failure at any level. The metadata is an
        // autoclosure, so the ids are only formatted when debug logging is on.
        logger.debug(
            status == .ok ? "invocation completed" : "invocation failed",
            metadata: [
                "invocation": "\(request.invocationID)", "event": "\(request.event.id)",
                "function": "\(function.name)@\(function.version)", "status": "\(status)",
                "error": "\(outcome.error)",
            ])
        metrics.duration.recordNanoseconds(outcome.duration.wholeNanoseconds)
        metrics.fuel.record(Int64(clamping: outcome.fuelUsed))
        var result = Tributary_V1_InvocationResult()
        result.invocationID = request.invocationID
        result.functionName = function.name
        result.functionVersion = function.version
        result.triggerID = request.triggerID
        result.eventID = request.event.id
        result.status = outcome.status
        result.output = Data(outcome.output)
        result.logs = outcome.logs
        result.duration = Google_Protobuf_Duration(
            seconds: Int64(outcome.duration.components.seconds),
            nanos: Int32(outcome.duration.components.attoseconds / 1_000_000_000))
        result.fuelUsed = outcome.fuelUsed
        result.error = outcome.error
        result.attempt = request.attempt
        result.completedAt = Google_Protobuf_Timestamp(date: Date())
        do {
            return OutgoingRecord(
                topic: StandardTopic.functionResults.name, key: Array(request.invocationID.utf8),
                value: try configuration.encoding.encode(result),
                headers: [RecordHeader(name: RecordEncoding.headerName, text: configuration.encoding.contentType)])
        } catch {
            return deadLetter(record, "the result cannot be encoded: \(error)")
        }
    }

    private func deadLetter(_ record: LogRecord, _ reason: String) -> OutgoingRecord {
        Counter(label: "tributary_dead_letters_total", dimensions: [("topic", "function-invocations.dlq")]).increment()
        logger.warning("invocation dead-lettered", metadata: ["position": "\(record.position)", "reason": "\(reason)"])
        return DeadLetter.record(for: record, reason: reason, role: "wasm-host")
    }

    /// The function input (docs/function-abi.md): invocation metadata, the canonical event in
    /// proto3-JSON (or, for direct invocations, the caller's JSON) and the manifest's environment.
    public static func input(for request: Tributary_V1_InvocationRequest, environment: [String: String]) -> [UInt8] {
        // Written by hand, keys sorted: a generic JSON writer was the host's largest per-invocation cost.
        var json: [UInt8] = []
        json.reserveCapacity(1_024)
        json += Array("{\"attempt\":\(request.attempt),\"environment\":{".utf8)
        for (index, (name, value)) in environment.sorted(by: { $0.key < $1.key }).enumerated() {
            if index > 0 { json.append(UInt8(ascii: ",")) }
            JSONText.appendString(name, to: &json)
            json.append(UInt8(ascii: ":"))
            JSONText.appendString(value, to: &json)
        }
        json += Array("},\"functionName\":".utf8)
        JSONText.appendString(request.functionName, to: &json)
        json += Array(",\"functionVersion\":\(request.functionVersion),\"invocationId\":".utf8)
        JSONText.appendString(request.invocationID, to: &json)
        json += Array(",\"triggerId\":".utf8)
        JSONText.appendString(request.triggerID, to: &json)
        if request.hasEvent {
            json += Array(",\"event\":".utf8) + ((try? DirectJSON.encode(request.event)) ?? Array("{}".utf8))
        } else if !request.input.isEmpty {
            json += Array(",\"input\":".utf8) + Array(request.input)
        }
        json.append(UInt8(ascii: "}"))
        return json
    }
}

/// Deployed functions as the host runs them: each stored record of `tributary.functions` is
/// decoded once (by its position; invocations would otherwise decode the module bytes every time)
/// and each module is parsed and validated once per content hash and manifest.
final class DeployedFunctions: Sendable {
    typealias Resolved = (record: Tributary_V1_FunctionRecord, compiled: Result<CompiledFunction, FunctionHostError>)
    private struct Entry: Sendable {
        let resolved: Resolved?
    }

    private let byPosition = Mutex<[RecordPosition: Entry]>([:])
    private let byContent = Mutex<[String: Result<CompiledFunction, FunctionHostError>]>([:])

    /// The function `stored` holds, with its compiled module (or why it cannot run); nil when the
    /// record is not a function record.
    func resolve(_ stored: LogRecord, policy: FunctionLimitPolicy, logger: Logger) -> Resolved? {
        if let entry = byPosition.withLock({ $0[stored.position] }) { return entry.resolved }
        var resolved: Resolved?
        if let value = stored.value,
            var function = try? RecordEncoding.decode(
                Tributary_V1_FunctionRecord.self, from: value, contentType: stored.contentType)
        {
            let compiled = compile(function, policy: policy, logger: logger)
            function.module = Data()  // compiled; no need to keep the bytes twice
            resolved = (function, compiled)
        }
        byPosition.withLock { $0[stored.position] = Entry(resolved: resolved) }
        return resolved
    }

    private func compile(
        _ function: Tributary_V1_FunctionRecord, policy: FunctionLimitPolicy, logger: Logger
    ) -> Result<CompiledFunction, FunctionHostError> {
        var options = BinaryEncodingOptions()
        options.useDeterministicOrdering = true  // the environment is a map
        let manifest =
            ((try? function.manifest.serializedBytes(options: options)) as [UInt8]?).map {
                Data($0).base64EncodedString()
            } ?? ""
        let key = function.moduleSha256 + "/" + function.name + "/" + manifest
        if let cached = byContent.withLock({ $0[key] }) { return cached }
        let result: Result<CompiledFunction, FunctionHostError>
        do {
            let compiled = try CompiledFunction(
                bytes: Array(function.module), manifest: function.manifest, policy: policy, name: function.name)
            if let reason = compiled.notReusableReason {
                logger.notice(
                    "function \(function.name) v\(function.version) gets a new instance per invocation (slower): \(reason)"
                )
            }
            result = .success(compiled)
        } catch let error as FunctionHostError {
            result = .failure(error)
        } catch {
            result = .failure(FunctionHostError(.invalidModule, "\(error)"))
        }
        byContent.withLock { $0[key] = result }
        return result
    }
}

/// The role's per-invocation metric handles, created once: making a handle goes through the
/// metrics factory's registry (a lock and a lookup) every time.
final class HostMetrics: Sendable {
    let duration = Timer(label: "tributary_wasm_host_invocation_duration_seconds")
    let fuel = Recorder(label: "tributary_wasm_host_fuel_used")
    private let byStatus = Mutex<[Tributary_V1_InvocationStatus: Counter]>([:])

    /// The invocation counter for `status`.
    func invocations(_ status: Tributary_V1_InvocationStatus) -> Counter {
        byStatus.withLock { counters in
            if let counter = counters[status] { return counter }
            let counter = Counter(label: "tributary_wasm_host_invocations_total", dimensions: [("status", "\(status)")])
            counters[status] = counter
            return counter
        }
    }
}
