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
            let instance = try function.idleInstances.checkOut() ?? newInstance(of: function, input: input)
            instance.prepare(input: input)
            let outcome = instance.run()
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
