import EventLog
import Metrics
import Synchronization
import WasmKit

/// Runs invocations of compiled functions on WasmKit under the function's limits, each starting
/// from the state right after instantiation: a reused instance restored from its snapshot, or a
/// fresh one. Call ``execute(_:input:)`` from a dedicated thread (it blocks while the guest runs);
/// any number of threads may use one runtime.
public final class FunctionRuntime: Sendable {
    /// Engines by interpreter stack size (a stack size is an engine setting): fuel-metered, shared.
    private let engines = Mutex<[Int: Engine]>([:])
    /// Idle instances kept per function: enough for every worker to have one.
    private let idleInstancesPerFunction: Int
    private let instancesCreated = Counter(label: "tributary_wasm_instances_created_total")
    /// Turns deadlines into fuel budgets, so guest code that never calls the host still stops
    /// near its deadline (WasmKit cannot interrupt a running call).
    private let deadlineFuel = DeadlineFuel()

    /// Creates a runtime keeping up to `idleInstancesPerFunction` (default 8) restored instances
    /// of each function.
    public init(idleInstancesPerFunction: Int = 8) {
        self.idleInstancesPerFunction = idleInstancesPerFunction
    }

    /// Runs one invocation of `function` with `input`. Never throws: every failure is an outcome
    /// with its status.
    public func execute(_ function: CompiledFunction, input: [UInt8]) -> InvocationOutcome {
        let started = ContinuousClock.now
        do {
            var instance = try function.idleInstances.checkOut() ?? newInstance(of: function, input: input)
            instance.prepare(input: input)
            var outcome = instance.run(deadlineFuel: deadlineFuel.budget(for: function.limits.timeout))
            if outcome.status == .timeout, outcome.duration < function.limits.timeout {
                // The deadline's fuel ran out before the deadline: this guest uses fuel faster
                // than any rate measured so far. The rate is raised to its own and it runs once
                // more, afresh (the stopped instance is dropped), on the budget that gives.
                deadlineFuel.observe(outcome, evenIfShort: true)
                instance = try newInstance(of: function, input: input)
                instance.prepare(input: input)
                outcome = instance.run(deadlineFuel: deadlineFuel.budget(for: function.limits.timeout))
            }
            deadlineFuel.observe(outcome)
            // Restored right away, so nothing of this invocation lingers in an idle instance.
            if instance.restore() {
                function.idleInstances.checkIn(instance, capacity: idleInstancesPerFunction)
            }
            return outcome
        } catch {
            return InvocationOutcome(
                status: .invalidModule, output: [], logs: [], fuelUsed: 0, error: "\(error)",
                duration: ContinuousClock.now - started)
        }
    }

    /// A new instance; `input` is a WASI program's stdin, which is fixed when its bridge is made.
    private func newInstance(of function: CompiledFunction, input: [UInt8]) throws -> FunctionInstance {
        function.idleInstances.created.add(1, ordering: .relaxed)
        instancesCreated.increment()
        return try FunctionInstance(
            function: function, engine: engine(stackBytes: function.limits.stackBytes), input: input)
    }

    private func engine(stackBytes: Int) -> Engine {
        engines.withLock { engines in
            if let engine = engines[stackBytes] { return engine }
            let engine = Engine(configuration: EngineConfiguration(stackSize: stackBytes, fuelMetering: true))
            engines[stackBytes] = engine
            return engine
        }
    }
}

/// The fuel a deadline allows: its duration at twice the fastest rate (fuel per second) this host
/// has measured — a tight loop timed when the runtime starts, then every invocation that ran for
/// at least a millisecond. Guest code would have to run more than twice as fast as anything
/// measured to use the budget up before its deadline; a guest that computes without calling the
/// host stops within about twice its deadline (more when the machine is busier than when it was
/// measured) instead of running until its fuel limit. Lock-free: every worker reads it.
final class DeadlineFuel: Sendable {
    private let fastestFuelPerSecond = Atomic<UInt64>(0)

    init() {
        fastestFuelPerSecond.store(Self.measureSpin(), ordering: .relaxed)
    }

    /// The fuel `timeout` allows, or nil before any rate is known.
    func budget(for timeout: Duration) -> UInt64? {
        let rate = fastestFuelPerSecond.load(ordering: .relaxed)
        guard rate > 0 else { return nil }
        let budget = 2 * timeout.secondsValue * Double(rate)
        return budget >= Double(UInt64.max) ? nil : UInt64(budget)
    }

    /// Raises the fastest rate if `outcome` ran faster. Runs under a millisecond say little (the
    /// host's own share of them is large) and are skipped unless `evenIfShort`.
    func observe(_ outcome: InvocationOutcome, evenIfShort: Bool = false) {
        let seconds = outcome.duration.secondsValue
        guard seconds > 0, evenIfShort || seconds >= 0.001, outcome.fuelUsed > 0 else { return }
        let rate = UInt64(Double(outcome.fuelUsed) / seconds)
        var current = fastestFuelPerSecond.load(ordering: .relaxed)
        while rate > current {
            let (exchanged, original) = fastestFuelPerSecond.compareExchange(
                expected: current, desired: rate, ordering: .relaxed)
            if exchanged { return }
            current = original
        }
    }

    /// Fuel per second of a tight loop (`spin(n)`: count down to zero), timed after a warm-up
    /// (about a millisecond in a release build); 0 if the module cannot run.
    private static func measureSpin() -> UInt64 {
        // (module (func (export "spin") (param i32)
        //   (loop (br_if 0 (local.tee 0 (i32.sub (local.get 0) (i32.const 1)))))))
        let module: [UInt8] = [
            0x00, 0x61, 0x73, 0x6D, 0x01, 0x00, 0x00, 0x00,  // magic, version
            0x01, 0x05, 0x01, 0x60, 0x01, 0x7F, 0x00,  // type: (i32) -> ()
            0x03, 0x02, 0x01, 0x00,  // function 0 has type 0
            0x07, 0x08, 0x01, 0x04, 0x73, 0x70, 0x69, 0x6E, 0x00, 0x00,  // export "spin"
            0x0A, 0x10, 0x01, 0x0E, 0x00,  // code: one body, no locals
            0x03, 0x40, 0x20, 0x00, 0x41, 0x01, 0x6B, 0x22, 0x00, 0x0D, 0x00, 0x0B, 0x0B,
        ]
        guard let parsed = try? parseWasm(bytes: module) else { return 0 }
        let store = Store(engine: Engine(configuration: EngineConfiguration(fuelMetering: true)))
        guard let instance = try? parsed.instantiate(store: store), let spin = instance.exports[function: "spin"]
        else { return 0 }
        var rate: UInt64 = 0
        for iterations in [10_000, 100_000] {
            let fuel: UInt64 = 1 << 40
            store.fuel = Fuel(remaining: fuel)
            let started = ContinuousClock.now
            guard (try? spin([.i32(UInt32(iterations))])) != nil else { return 0 }
            let seconds = (ContinuousClock.now - started).secondsValue
            let used = fuel - (store.fuel?.remaining ?? fuel)
            if seconds > 0 { rate = UInt64(Double(used) / seconds) }
        }
        return rate
    }
}
