import EventLog
import TributaryModel

/// The limits one invocation runs under, resolved from a manifest against the operator's policy.
public struct FunctionLimits: Sendable, Hashable {
    /// Fuel: roughly one unit per executed WebAssembly operator.
    public var fuel: UInt64
    /// Wall-clock budget. Checked whenever the guest calls the host and when it finishes; guest
    /// code that never calls the host (WasmKit cannot interrupt a running call) is stopped by the
    /// fuel the deadline allows at the host's fastest measured rate (`DeadlineFuel`).
    public var timeout: Duration
    /// Linear memory, in 64 KiB pages: modules declaring more are refused at deploy, growth past
    /// it fails inside the guest (`memory.grow` returns -1).
    public var memoryPages: UInt32
    /// Output bytes; more ends the invocation with `output_too_large`.
    public var outputBytes: Int
    /// Log bytes kept per invocation; more are dropped and the logs say so.
    public var logBytes: Int
    /// The interpreter's stack, in bytes; deeper recursion traps (`call stack exhausted`).
    public var stackBytes: Int

    /// Creates limits.
    public init(
        fuel: UInt64, timeout: Duration, memoryPages: UInt32, outputBytes: Int, logBytes: Int, stackBytes: Int
    ) {
        self.fuel = fuel
        self.timeout = timeout
        self.memoryPages = memoryPages
        self.outputBytes = outputBytes
        self.logBytes = logBytes
        self.stackBytes = stackBytes
    }
}

/// The operator's defaults (for limits a manifest leaves at zero) and maximums (a manifest asking
/// for more is refused at deploy).
public struct FunctionLimitPolicy: Sendable, Hashable {
    /// Default: 100,000,000 fuel, 1 s, 16 pages (1 MiB), 1 MiB output, 64 KiB logs, 512 KiB stack.
    public var defaults: FunctionLimits
    /// Default: 10,000,000,000 fuel, 30 s, 1,024 pages (64 MiB), 16 MiB output, 1 MiB logs, 8 MiB stack.
    public var maximums: FunctionLimits

    /// Creates a policy; every parameter defaults as documented on its property.
    public init(
        defaults: FunctionLimits = FunctionLimits(
            fuel: 100_000_000, timeout: .seconds(1), memoryPages: 16, outputBytes: 1 << 20, logBytes: 64 << 10,
            stackBytes: 512 << 10),
        maximums: FunctionLimits = FunctionLimits(
            fuel: 10_000_000_000, timeout: .seconds(30), memoryPages: 1_024, outputBytes: 16 << 20,
            logBytes: 1 << 20, stackBytes: 8 << 20)
    ) {
        self.defaults = defaults
        self.maximums = maximums
    }

    /// The limits of a manifest: zero fields take the default.
    ///
    /// - Throws: ``FunctionHostError`` `.limitTooHigh` naming the field and the maximum.
    public func resolve(_ requested: Tributary_V1_FunctionLimits) throws -> FunctionLimits {
        func pick<T: Comparable>(_ value: T, zero: T, _ fallback: T, _ maximum: T, _ name: String) throws -> T {
            if value == zero { return fallback }
            guard value <= maximum else {
                throw FunctionHostError(.limitTooHigh, "limits.\(name) \(value) is above the host's maximum \(maximum)")
            }
            return value
        }
        return FunctionLimits(
            fuel: try pick(requested.fuel, zero: 0, defaults.fuel, maximums.fuel, "fuel"),
            timeout: .milliseconds(
                try pick(
                    Int64(requested.timeoutMs), zero: 0, defaults.timeout.wholeMilliseconds,
                    maximums.timeout.wholeMilliseconds, "timeoutMs")),
            memoryPages: try pick(
                requested.memoryPages, zero: 0, defaults.memoryPages, maximums.memoryPages, "memoryPages"),
            outputBytes: try pick(
                Int(requested.outputBytes), zero: 0, defaults.outputBytes, maximums.outputBytes, "outputBytes"),
            logBytes: try pick(Int(requested.logBytes), zero: 0, defaults.logBytes, maximums.logBytes, "logBytes"),
            stackBytes: try pick(
                Int(requested.stackBytes), zero: 0, defaults.stackBytes, maximums.stackBytes, "stackBytes"))
    }
}
