import Foundation
import Synchronization
import TributaryModel
@_spi(WASIPlatform) import WASI
// The store's resource limiter is WasmKit's only way to cap memory growth; it is SPI.
@_spi(Fuzzing) import WasmKit
import WasmKitWASI

/// What one invocation produced.
public struct InvocationOutcome: Sendable {
    /// How it ended.
    public var status: Tributary_V1_InvocationStatus
    /// The output the guest set (empty when it set none or failed).
    public var output: [UInt8]
    /// What the guest logged, within the log limit.
    public var logs: [Tributary_V1_FunctionLog]
    /// Fuel consumed.
    public var fuelUsed: UInt64
    /// Why it failed, for every status but `ok`.
    public var error: String
    /// Wall-clock time of the invocation.
    public var duration: Duration
}

/// One instance of a function, used by one thread at a time.
///
/// Nothing survives between invocations: an instance whose module has a ``SnapshotPlan`` is put
/// back exactly as it was right after instantiation (memory and every mutable global) after each
/// clean run, and any other instance — a trapped one, one whose memory grew, any WASI program —
/// is used once and dropped.
final class FunctionInstance {
    private let function: CompiledFunction
    private let store: Store
    private let instance: Instance
    private let context: InvocationContext
    private let memoryCap: MemoryCap
    /// WASI only: the bridge (closed when the invocation ends) and the captured streams.
    private let wasi: (bridge: WASIBridgeToHost, stdout: WASIOutput, stderr: WASIOutput)?
    /// The state right after instantiation, for modules with a snapshot plan.
    private let snapshot: (memory: [UInt8], globals: [(Global, Value)])?
    /// Whether the last run left the instance in a state ``restore()`` can undo.
    private var reusable = false
    /// The interpreter stack, kept with the instance: allocating it per call (WasmKit's default)
    /// maps and unmaps half a megabyte on every invocation.
    private var stack: ExecutionStack

    init(function: CompiledFunction, engine: Engine, input: [UInt8] = []) throws {
        self.function = function
        store = Store(engine: engine)
        stack = ExecutionStack(engine: engine)
        memoryCap = MemoryCap(bytes: Int(function.limits.memoryPages) * 65_536)
        store.resourceLimiter = memoryCap
        context = InvocationContext(input: input, limits: function.limits)
        var imports = Imports()
        if function.abi == .wasi {
            // No preopened directories and no sockets: only descriptors 0, 1 and 2 exist.
            let stdout = WASIOutput(limit: function.limits.outputBytes, failsWhenFull: true)
            let stderr = WASIOutput(limit: function.limits.logBytes, failsWhenFull: false)
            let bridge = try WASIBridgeToHost(
                args: function.arguments, environment: function.environment,
                fileSystem: .memory(try MemoryFileSystem()).withStdio(
                    stdin: WASIInput(input), stdout: stdout, stderr: stderr))
            bridge.link(to: &imports, store: store)
            wasi = (bridge, stdout, stderr)
        } else {
            for (name, type) in CompiledFunction.hostFunctions {
                imports.define(
                    module: CompiledFunction.importModule, name: name,
                    Function(
                        store: store, parameters: type.parameters, results: type.results,
                        raw: context.hostFunction(name)))
            }
            wasi = nil
        }
        do {
            instance = try function.module.instantiate(store: store, imports: imports)
        } catch {
            try? wasi?.bridge.close()
            throw FunctionHostError(.invalidModule, "cannot be instantiated: \(error)")
        }
        let exports = instance.exports
        if let plan = function.snapshotPlan, let memory = exports[memory: "memory"] {
            let globals = plan.globalExports.compactMap { name in
                exports[global: name].map { ($0, $0.value) }
            }
            snapshot = (memory.withUnsafeBufferPointer(offset: 0, count: memory.byteCount) { Array($0) }, globals)
        } else {
            snapshot = nil
        }
    }

    /// Puts the instance back in its state right after instantiation; false when that is not
    /// possible (no snapshot, a failed run, grown memory) and the instance must be dropped.
    func restore() -> Bool {
        guard reusable, let snapshot, let memory = instance.exports[memory: "memory"],
            memory.byteCount == snapshot.memory.count
        else { return false }
        memory.withUnsafeMutableBufferPointer(offset: 0, count: snapshot.memory.count) { target in
            snapshot.memory.withUnsafeBytes { target.copyMemory(from: $0) }
        }
        do {
            for (global, value) in snapshot.globals { try global.assign(value) }
        } catch {
            return false
        }
        // The invocation's input, output and logs go too: an idle instance keeps none of them (and
        // the worker's buffer the input was written in stays its own, reused without a copy).
        context.reset(input: [])
        reusable = false
        return true
    }

    /// Sets the input of the next ``run()``.
    func prepare(input: [UInt8]) {
        context.reset(input: input)
        memoryCap.denied.store(false, ordering: .relaxed)
    }

    deinit {
        try? wasi?.bridge.close()  // an unclosed bridge fails a precondition in its deinit
    }

    /// Checks the entry, allocator and buffer exports have the ABI's types.
    func checkSignatures() throws {
        if function.abi == .wasi {
            guard instance.exports[function: "_start"]?.type == FunctionType(parameters: [], results: []) else {
                throw FunctionHostError(.invalidModule, "a WASI function must export '_start' of type () -> ()")
            }
            return
        }
        let entry = instance.exports[function: function.entry]
        guard entry?.type == FunctionType(parameters: [.i32, .i32], results: [.i32]) else {
            throw FunctionHostError(
                .invalidModule,
                "the entry '\(function.entry)' must have type (i32, i32) -> i32, not \(entry.map { "\($0.type)" } ?? "none")"
            )
        }
        switch function.placement {
        case .allocator(let name):
            let type = instance.exports[function: name]?.type
            guard type == FunctionType(parameters: [.i32], results: [.i32]) else {
                throw FunctionHostError(.invalidModule, "the allocator '\(name)' must have type (i32) -> i32")
            }
        case .exportedBuffer:
            for name in ["tributary_input", "tributary_input_capacity"]
            where !Self.isI32(instance.exports[global: name]?.value) {
                throw FunctionHostError(.invalidModule, "the global '\(name)' must be an i32 (an address)")
            }
        case .pull:
            break
        }
    }

    private static func isI32(_ value: Value?) -> Bool {
        if case .i32 = value { return true }
        return false
    }

    /// Runs the invocation to its end; never throws.
    ///
    /// `deadlineFuel` is the fuel the deadline allows at the fastest rate this host has measured
    /// (``DeadlineFuel``): when it is less than the fuel limit, running out of it means the
    /// deadline passed, and the invocation ends as `timeout`.
    func run(deadlineFuel: UInt64? = nil) -> InvocationOutcome {
        let started = ContinuousClock.now
        context.deadline = started.advanced(by: function.limits.timeout)
        let budget = min(function.limits.fuel, deadlineFuel ?? .max)
        store.fuel = Fuel(remaining: budget)
        var status = Tributary_V1_InvocationStatus.ok
        var failure = ""
        do {
            if let failed = try wasi.map(runProgram) ?? runEntry() {
                status = .trap
                failure = failed
            }
        } catch let abort as HostAbort {
            (status, failure) = abort.outcome
        } catch {
            let message = "\(error)".replacingOccurrences(of: "Trap: ", with: "")
            if message.hasPrefix("out of fuel"), budget < function.limits.fuel {
                status = .timeout
                failure =
                    "ran longer than its \(function.limits.timeout) deadline (stopped after \(budget) fuel, what the deadline allows at this host's fastest measured rate)"
            } else if message.hasPrefix("out of fuel") {
                status = .outOfFuel
                failure = "used all of its \(function.limits.fuel) fuel"
            } else if memoryCap.denied.load(ordering: .relaxed) {
                status = .memoryLimit
                failure =
                    "trapped (\(message.prefix(200))) after memory growth past \(function.limits.memoryPages) pages was refused"
            } else {
                status = .trap
                failure = String(message.prefix(1_000))
            }
        }
        if status == .ok, context.deadline.map({ ContinuousClock.now > $0 }) == true {
            // Finished, but too late: the result is not wanted any more.
            status = .timeout
            failure = "ran longer than its \(function.limits.timeout) deadline"
        }
        let remaining = store.fuel?.remaining ?? 0
        reusable = status == .ok && !memoryCap.denied.load(ordering: .relaxed)
        return InvocationOutcome(
            status: status, output: status == .ok ? context.output : [], logs: context.finishedLogs(),
            fuelUsed: budget - min(remaining, budget), error: failure,
            duration: ContinuousClock.now - started)
    }

    /// Raw ABI: places the input and calls the entry; the failure a non-zero return reports.
    private func runEntry() throws -> String? {
        let (pointer, length) = try placeInput()
        guard let entry = instance.exports[function: function.entry] else {
            throw HostAbort.abi("the entry '\(function.entry)' is missing")
        }
        let code = Int32(bitPattern: try entry.invoke([.i32(pointer), .i32(length)], on: &stack).first?.i32 ?? 0)
        return code == 0 ? nil : "the function returned \(code)"
    }

    /// WASI: runs `_start` and collects stdout and stderr; the failure a non-zero exit code reports.
    private func runProgram(
        _ wasi: (bridge: WASIBridgeToHost, stdout: WASIOutput, stderr: WASIOutput)
    ) throws
        -> String?
    {
        let code = try wasi.bridge.start(instance)
        context.output = wasi.stdout.bytes
        context.takeLog(wasi.stderr.bytes, dropped: wasi.stderr.droppedBytes)
        if wasi.stdout.droppedBytes > 0 {
            throw HostAbort.outputTooLarge(
                wasi.stdout.bytes.count + wasi.stdout.droppedBytes, limit: function.limits.outputBytes)
        }
        return code == 0 ? nil : "the function exited with \(code)"
    }

    /// Hands the input to the guest as docs/function-abi.md says and returns the entry's arguments.
    private func placeInput() throws -> (UInt32, UInt32) {
        let input = context.input
        guard input.count <= Int(UInt32.max) else { throw HostAbort.abi("the input is larger than 4 GiB") }
        guard let memory = instance.exports[memory: "memory"] else { throw HostAbort.abi("no exported memory") }
        switch function.placement {
        case .pull:
            return (0, 0)
        case .allocator(let name):
            guard let allocate = instance.exports[function: name] else { throw HostAbort.abi("no '\(name)'") }
            let pointer = try allocate.invoke([.i32(UInt32(input.count))], on: &stack).first?.i32 ?? 0
            guard pointer != 0 else {
                if memoryCap.denied.load(ordering: .relaxed) {
                    throw HostAbort.memoryLimit("'\(name)' could not grow memory for the \(input.count)-byte input")
                }
                throw HostAbort.abi("'\(name)' returned 0 for the \(input.count)-byte input")
            }
            try GuestMemory.write(input, at: pointer, in: memory)
            return (pointer, UInt32(input.count))
        case .exportedBuffer:
            guard let buffer = instance.exports[global: "tributary_input"]?.value.i32,
                let capacityAddress = instance.exports[global: "tributary_input_capacity"]?.value.i32
            else { throw HostAbort.abi("tributary_input or tributary_input_capacity is missing") }
            let capacity = try GuestMemory.readUInt32(at: capacityAddress, in: memory)
            guard input.count <= Int(capacity) else {
                throw HostAbort.abi(
                    "the input of \(input.count) bytes does not fit tributary_input (\(capacity) bytes)")
            }
            try GuestMemory.write(input, at: buffer, in: memory)
            return (buffer, UInt32(input.count))
        }
    }
}

/// Why the host ended an invocation from inside a host call.
enum HostAbort: Error {
    case abi(String)
    case memoryLimit(String)
    case outputTooLarge(Int, limit: Int)
    case timeout(Duration)

    var outcome: (Tributary_V1_InvocationStatus, String) {
        switch self {
        case .abi(let reason): (.abiError, reason)
        case .memoryLimit(let reason): (.memoryLimit, reason)
        case .outputTooLarge(let size, let limit):
            (.outputTooLarge, "set an output of \(size) bytes; the limit is \(limit)")
        case .timeout(let limit): (.timeout, "ran longer than its \(limit) deadline")
        }
    }
}

/// Caps linear memory; remembers a refusal so a later trap can be reported as `memory_limit`.
final class MemoryCap: ResourceLimiter {
    let bytes: Int
    let denied = Atomic(false)

    init(bytes: Int) { self.bytes = bytes }

    func limitMemoryGrowth(to desired: Int) throws -> Bool {
        guard desired <= bytes else {
            denied.store(true, ordering: .relaxed)
            return false
        }
        return true
    }
}

/// Bounds-checked access to guest memory: WasmKit's accessors abort the process on an
/// out-of-bounds range, so every guest pointer is checked here first.
enum GuestMemory {
    static func range(_ pointer: UInt32, _ length: UInt32, in memory: Memory) throws -> (offset: UInt, count: Int) {
        guard UInt64(pointer) + UInt64(length) <= UInt64(memory.byteCount) else {
            throw HostAbort.abi(
                "pointer \(pointer) with length \(length) is outside the guest's \(memory.byteCount)-byte memory")
        }
        return (UInt(pointer), Int(length))
    }

    static func read(_ pointer: UInt32, _ length: UInt32, in memory: Memory) throws -> [UInt8] {
        let (offset, count) = try range(pointer, length, in: memory)
        return memory.withUnsafeBufferPointer(offset: offset, count: count) { Array($0) }
    }

    static func readUInt32(at pointer: UInt32, in memory: Memory) throws -> UInt32 {
        let bytes = try read(pointer, 4, in: memory)
        return bytes.reversed().reduce(0) { $0 << 8 | UInt32($1) }
    }

    static func write(_ bytes: [UInt8], at pointer: UInt32, in memory: Memory) throws {
        let (offset, count) = try range(pointer, UInt32(bytes.count), in: memory)
        memory.withUnsafeMutableBufferPointer(offset: offset, count: count) { target in
            bytes.withUnsafeBytes { target.copyMemory(from: $0) }
        }
    }
}

/// The state of one invocation that the host functions see. It holds no `Memory` (that would
/// keep the store alive through the host closures): the memory is looked up on each call.
final class InvocationContext {
    private(set) var input: [UInt8]
    let limits: FunctionLimits
    var deadline: ContinuousClock.Instant?
    var output: [UInt8] = []
    private var logs: [Tributary_V1_FunctionLog] = []
    private var logBytes = 0
    private var droppedLogBytes = 0

    init(input: [UInt8], limits: FunctionLimits) {
        self.input = input
        self.limits = limits
    }

    /// Starts the next invocation on the same instance.
    func reset(input: [UInt8]) {
        self.input = input
        deadline = nil
        output = []
        logs = []
        logBytes = 0
        droppedLogBytes = 0
    }

    /// Takes a WASI guest's stderr as log lines (level `info`).
    func takeLog(_ bytes: [UInt8], dropped: Int) {
        for line in bytes.split(separator: UInt8(ascii: "\n")) {
            var entry = Tributary_V1_FunctionLog()
            entry.level = "info"
            entry.message = String(decoding: line, as: UTF8.self)
            logs.append(entry)
        }
        logBytes += bytes.count
        droppedLogBytes += dropped
    }

    /// The logs, with a last line saying how much was dropped.
    func finishedLogs() -> [Tributary_V1_FunctionLog] {
        guard droppedLogBytes > 0 else { return logs }
        var note = Tributary_V1_FunctionLog()
        note.level = "warn"
        note.message = "logs truncated: \(droppedLogBytes) bytes over the \(limits.logBytes)-byte limit were dropped"
        return logs + [note]
    }

    /// The implementation of host function `name`.
    func hostFunction(_ name: String) -> Function.RawImplementation {
        { [unowned self] caller, arguments, results in
            if let deadline, ContinuousClock.now > deadline { throw HostAbort.timeout(limits.timeout) }
            guard let memory = caller.instance?.exports[memory: "memory"] else {
                throw HostAbort.abi("the guest exports no memory")
            }
            switch name {
            case "input_len":
                results[0] = .i32(UInt32(input.count))
            case "get_input":
                try GuestMemory.write(input, at: arguments[0].i32, in: memory)
            case "set_output":
                let length = arguments[1].i32
                guard Int(length) <= limits.outputBytes else {
                    throw HostAbort.outputTooLarge(Int(length), limit: limits.outputBytes)
                }
                output = try GuestMemory.read(arguments[0].i32, length, in: memory)
            case "log":
                let (offset, count) = try GuestMemory.range(arguments[1].i32, arguments[2].i32, in: memory)
                let kept = min(count, max(0, limits.logBytes - logBytes))
                droppedLogBytes += count - kept
                guard kept > 0 else { return }
                logBytes += kept
                var entry = Tributary_V1_FunctionLog()
                entry.level = ["debug", "info", "warn", "error"][Int(min(arguments[0].i32, 3))]
                entry.message = memory.withUnsafeBufferPointer(offset: offset, count: kept) {
                    String(decoding: $0, as: UTF8.self)
                }
                logs.append(entry)
            default:
                throw HostAbort.abi("unknown host function \(name)")
            }
        }
    }
}
