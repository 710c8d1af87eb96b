import Synchronization
import WasmKit

/// Runs invocations of compiled functions on WasmKit, each on a fresh instance, under the
/// function's limits. Call ``execute(_:input:)`` from a dedicated thread (it blocks while the guest
/// runs); any number of threads may use one runtime.
public final class FunctionRuntime: Sendable {
    /// Engines by interpreter stack size (a stack size is an engine setting): fuel-metered, shared.
    private let engines = Mutex<[Int: Engine]>([:])

    /// Creates a runtime.
    public init() {}

    /// Runs one invocation of `function` with `input`. Never throws: every failure is an outcome
    /// with its status.
    public func execute(_ function: CompiledFunction, input: [UInt8]) -> InvocationOutcome {
        let started = ContinuousClock.now
        do {
            return try FunctionInstance(
                function: function, engine: engine(stackBytes: function.limits.stackBytes), input: input
            )
            .run()
        } catch {
            return InvocationOutcome(
                status: .invalidModule, output: [], logs: [], fuelUsed: 0, error: "\(error)",
                duration: ContinuousClock.now - started)
        }
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
