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
    /// The headers of every result record, made once (each header is two arrays).
    private let resultHeaders: [RecordHeader]

    /// Creates the role over `log`.
    public init(
        log: any EventLog, configuration: Configuration = Configuration(),
        logger: Logger = Logger(label: "tributary.wasm-host")
    ) {
        self.log = log
        self.configuration = configuration
        self.logger = logger
        runtime = FunctionRuntime(idleInstancesPerFunction: configuration.workers)
        resultHeaders = [RecordHeader(name: RecordEncoding.headerName, text: configuration.encoding.contentType)]
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
                    // While one batch runs on the workers the next is polled and queued behind it,
                    // so the workers do not wait for the log; results are appended and offsets
                    // committed in batch order, each batch only after its results are stored.
                    var running: Batch?
                    do {
                        while !Task.isCancelled {
                            let records = try await consumer.poll(
                                maxRecords: configuration.batchSize,
                                timeout: running == nil ? .milliseconds(250) : .zero)
                            let finished = running
                            running = records.isEmpty ? nil : start(records, functions: functions, pool: pool)
                            if let finished { try await store(finished, consumer: consumer) }
                        }
                        // Stopping: the batch in hand is finished and stored, as it was run.
                        if let finished = running {
                            running = nil
                            try await store(finished, consumer: consumer)
                        }
                    } catch {
                        // Its invocations are redelivered; nothing of it may outlive this loop.
                        running?.abandon()
                        _ = await running?.results.value
                        throw error
                    }
                }
                group.cancelAll()
            }
        } catch is CancellationError {
        }
    }

    /// One polled batch and the task producing its output: a result or dead letter per record,
    /// in order, or nil when the batch was abandoned before it had them all.
    private struct Batch {
        let records: [LogRecord]
        let results: Task<[OutgoingRecord]?, Never>
        let abandoned: AbandonFlag

        /// Stops the batch: guests not yet started are not run, waiting invocations stop waiting.
        func abandon() {
            abandoned.set()
            results.cancel()
        }
    }

    /// Set once a batch is abandoned; the worker threads (outside any task) read it.
    private final class AbandonFlag: Sendable {
        private let value = Atomic(false)
        func set() { value.store(true, ordering: .releasing) }
        var isSet: Bool { value.load(ordering: .acquiring) }
    }

    /// Appends a batch's output and then commits its offsets.
    private func store(_ batch: Batch, consumer: any GroupConsumer) async throws {
        guard let output = await batch.results.value else { throw CancellationError() }
        _ = try await log.append(output)
        try await consumer.commit(batch.records.nextOffsets)
    }

    /// Starts the work of one batch: the workers take its records one at a time and do
    /// everything for each (read the request, run the guest, write the result) on their own
    /// thread; the few that need waiting (a concurrency limit, a retry after a timeout) finish
    /// on the cooperative pool.
    private func start(_ records: [LogRecord], functions: CompactedTopicFollower, pool: WorkerPool) -> Batch {
        let view = functions.snapshot.view
        let abandoned = AbandonFlag()
        let results = Task { () -> [OutgoingRecord]? in
            let steps = await pool.map(records) { record, buffer -> Step? in
                abandoned.isSet ? nil : handleOnWorker(record, functions: view, buffer: &buffer)
            }
            return await withTaskGroup(of: (Int, OutgoingRecord?).self) { group in
                var output: [OutgoingRecord?] = Array(repeating: nil, count: steps.count)
                for (index, step) in steps.enumerated() {
                    switch step {
                    case nil:
                        break  // abandoned before it ran
                    case .finished(let record):
                        output[index] = record
                    case .waiting(let invocation, let attempts):
                        group.addTask { (index, await handleWaiting(invocation, attempts: attempts, pool: pool)) }
                    }
                }
                for await (index, record) in group { output[index] = record }
                let complete = output.compactMap { $0 }
                return complete.count == records.count ? complete : nil
            }
        }
        return Batch(records: records, results: results, abandoned: abandoned)
    }

    /// Where one invocation record stands.
    private enum Step: Sendable {
        /// Its result or dead letter.
        case finished(OutgoingRecord)
        /// It waits: for its function's concurrency limit (`attempts` 0) or, after `attempts`
        /// runs that timed out, to run again.
        case waiting(Invocation, attempts: Int)
    }

    /// An invocation that can run: its request, its function and its event's JSON as the record
    /// carries it. A class, so that handing a ``Step`` around copies one reference.
    private final class Invocation: Sendable {
        let record: LogRecord
        let request: Tributary_V1_InvocationRequest
        let function: Tributary_V1_FunctionRecord
        let compiled: CompiledFunction
        let eventJSON: ArraySlice<UInt8>?
        var concurrencyLimit: Int { compiled.concurrencyLimit }

        init(
            record: LogRecord, request: Tributary_V1_InvocationRequest, function: Tributary_V1_FunctionRecord,
            compiled: CompiledFunction, eventJSON: ArraySlice<UInt8>?
        ) {
            self.record = record
            self.request = request
            self.function = function
            self.compiled = compiled
            self.eventJSON = eventJSON
        }

        /// Runs the guest once, its input written into `buffer` (a worker's, empty).
        func run(on runtime: FunctionRuntime, buffer: inout [UInt8]) -> InvocationOutcome {
            FunctionHostService.appendInput(
                for: request, environmentJSON: compiled.environmentJSON, eventJSON: eventJSON, to: &buffer)
            return runtime.execute(compiled, input: buffer)
        }
    }

    /// Runs on a worker thread: everything for one record, unless its function has a concurrency
    /// limit or its first run times out (then it waits on the cooperative pool).
    private func handleOnWorker(_ record: LogRecord, functions: CompactedTopicView, buffer: inout [UInt8]) -> Step {
        let invocation: Invocation
        switch prepare(record, functions: functions) {
        case .finished(let output): return .finished(output)
        case .waiting(let ready, _): invocation = ready
        }
        guard invocation.concurrencyLimit == 0 else { return .waiting(invocation, attempts: 0) }
        let outcome = invocation.run(on: runtime, buffer: &buffer)
        if outcome.status == .timeout, configuration.timeoutAttempts > 1 { return .waiting(invocation, attempts: 1) }
        return .finished(finish(invocation, outcome, attempts: 1))
    }

    /// The rest of an invocation that had to wait: runs under its function's concurrency limit,
    /// pausing before each retry of a timeout; nil when its batch was abandoned.
    private func handleWaiting(_ invocation: Invocation, attempts ran: Int, pool: WorkerPool) async -> OutgoingRecord? {
        var attempts = ran
        while true {
            if attempts > 0 { try? await Task.sleep(for: .milliseconds(100 << attempts)) }
            guard !Task.isCancelled else { return nil }  // the batch is abandoned (redelivered)
            attempts += 1
            let outcome = await limiter.run(invocation.function.name, limit: invocation.concurrencyLimit) {
                [runtime] in
                await pool.run { buffer in invocation.run(on: runtime, buffer: &buffer) }
            }
            if outcome.status != .timeout || attempts >= configuration.timeoutAttempts {
                return finish(invocation, outcome, attempts: attempts)
            }
        }
    }

    /// Reads an invocation record: `.waiting(invocation, attempts: 0)` when it can run, else
    /// its dead letter or (for a module that cannot run) its result.
    private func prepare(_ record: LogRecord, functions: CompactedTopicView) -> Step {
        let request: Tributary_V1_InvocationRequest
        let eventJSON: ArraySlice<UInt8>?
        do {
            (request, eventJSON) = try RecordEncoding.decodeRequestKeepingEvent(
                from: record.value ?? [], contentType: record.contentType)
        } catch {
            return .finished(deadLetter(record, "not an invocation request: \(error)"))
        }
        // The record key: "name" for the latest version, "name@version" for a pinned one.
        var key = Array(request.functionName.utf8)
        if request.functionVersion != 0 {
            key.append(UInt8(ascii: "@"))
            JSONText.appendDecimal(UInt64(request.functionVersion), to: &key)
        }
        guard let stored = functions.values[key],
            let (function, compiledFunction) = deployed.resolve(stored, policy: configuration.policy, logger: logger)
        else {
            return .finished(
                deadLetter(
                    record,
                    "function '\(request.functionName)' version \(request.functionVersion == 0 ? "latest" : "\(request.functionVersion)") is not deployed"
                ))
        }
        if request.hasDeadline, request.deadline.date < Date() {
            return .finished(deadLetter(record, "its deadline (\(request.deadline.date)) passed before it could run"))
        }
        switch compiledFunction {
        case .success(let compiled):
            let invocation = Invocation(
                record: record, request: request, function: function, compiled: compiled, eventJSON: eventJSON)
            return .waiting(invocation, attempts: 0)
        case .failure(let error):
            let outcome = InvocationOutcome(
                status: .invalidModule, output: [], logs: [], fuelUsed: 0, error: error.reason, duration: .zero)
            return .finished(result(of: request, record: record, function: function, outcome: outcome))
        }
    }

    /// The result record of a run invocation, or its dead letter when every attempt timed out.
    private func finish(_ invocation: Invocation, _ outcome: InvocationOutcome, attempts: Int) -> OutgoingRecord {
        if outcome.status == .timeout, attempts >= configuration.timeoutAttempts {
            return deadLetter(invocation.record, "timed out on all \(attempts) attempts: \(outcome.error)")
        }
        return result(
            of: invocation.request, record: invocation.record, function: invocation.function, outcome: outcome)
    }

    /// Records `outcome` in the metrics and the debug log and writes its `InvocationResult`.
    private func result(
        of request: Tributary_V1_InvocationRequest, record: LogRecord, function: Tributary_V1_FunctionRecord,
        outcome: InvocationOutcome
    ) -> OutgoingRecord {
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
                headers: resultHeaders)
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
    /// `eventJSON`, the event as the invocation record carries it, is used as is when given.
    public static func input(
        for request: Tributary_V1_InvocationRequest, environment: [String: String], eventJSON: ArraySlice<UInt8>? = nil
    ) -> [UInt8] {
        var json: [UInt8] = []
        appendInput(for: request, environmentJSON: environmentJSON(environment), eventJSON: eventJSON, to: &json)
        return json
    }

    /// The members of the input's `environment` object, keys sorted (written once per deployed
    /// function, not per invocation).
    static func environmentJSON(_ environment: [String: String]) -> [UInt8] {
        var json: [UInt8] = []
        for (index, (name, value)) in environment.sorted(by: { $0.key < $1.key }).enumerated() {
            if index > 0 { json.append(UInt8(ascii: ",")) }
            JSONText.appendString(name, to: &json)
            json.append(UInt8(ascii: ":"))
            JSONText.appendString(value, to: &json)
        }
        return json
    }

    static func appendInput(
        for request: Tributary_V1_InvocationRequest, environmentJSON: [UInt8], eventJSON: ArraySlice<UInt8>?,
        to json: inout [UInt8]
    ) {
        // Written by hand, keys sorted: a generic JSON writer was the host's largest per-invocation
        // cost, and this runs once per invocation on a worker thread, so it makes no temporaries.
        json.reserveCapacity(json.count + 256 + environmentJSON.count + (eventJSON?.count ?? 1_024))
        json.append(contentsOf: "{\"attempt\":".utf8)
        JSONText.appendDecimal(UInt64(request.attempt), to: &json)
        json.append(contentsOf: ",\"environment\":{".utf8)
        json.append(contentsOf: environmentJSON)
        json.append(contentsOf: "},\"functionName\":".utf8)
        JSONText.appendString(request.functionName, to: &json)
        json.append(contentsOf: ",\"functionVersion\":".utf8)
        JSONText.appendDecimal(UInt64(request.functionVersion), to: &json)
        json.append(contentsOf: ",\"invocationId\":".utf8)
        JSONText.appendString(request.invocationID, to: &json)
        json.append(contentsOf: ",\"triggerId\":".utf8)
        JSONText.appendString(request.triggerID, to: &json)
        if let eventJSON, request.hasEvent {
            json.append(contentsOf: ",\"event\":".utf8)
            json.append(contentsOf: eventJSON)
        } else if request.hasEvent {
            json.append(contentsOf: ",\"event\":".utf8)
            do { try DirectJSON.appendEvent(request.event, to: &json) } catch { json.append(contentsOf: "{}".utf8) }
        } else if !request.input.isEmpty {
            json.append(contentsOf: ",\"input\":".utf8)
            json.append(contentsOf: request.input)
        }
        json.append(UInt8(ascii: "}"))
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
    /// One counter per known status, made up front so counting takes no lock.
    private let byStatus: [Tributary_V1_InvocationStatus: Counter] = Dictionary(
        uniqueKeysWithValues: Tributary_V1_InvocationStatus.allCases.map { status in
            (status, Counter(label: "tributary_wasm_host_invocations_total", dimensions: [("status", "\(status)")]))
        })

    /// The invocation counter for `status`.
    func invocations(_ status: Tributary_V1_InvocationStatus) -> Counter {
        byStatus[status]
            ?? Counter(label: "tributary_wasm_host_invocations_total", dimensions: [("status", "\(status)")])
    }
}
