import Foundation
import TributaryModel
import WasmKit

/// A function module parsed and validated once, at deploy: the raw ABI's exports are present and
/// typed right, it imports nothing but the host's functions, and it declares no more memory than
/// its limit. Immutable and shareable between workers; a class, so that handing it to each
/// invocation costs one reference, not a copy of every field.
public final class CompiledFunction: Sendable {
    /// The host's import module name.
    public static let importModule = "tributary"
    /// WASI preview1's import module name.
    static let wasiModule = "wasi_snapshot_preview1"
    /// The functions the host offers under ``importModule``, with their signatures.
    static let hostFunctions: [String: FunctionType] = [
        "input_len": FunctionType(parameters: [], results: [.i32]),
        "get_input": FunctionType(parameters: [.i32], results: []),
        "set_output": FunctionType(parameters: [.i32, .i32], results: []),
        "log": FunctionType(parameters: [.i32, .i32, .i32], results: []),
    ]

    let module: Module
    /// The entry export (`handle` unless the manifest names another).
    public let entry: String
    /// The limits every invocation runs under.
    public let limits: FunctionLimits
    /// How the input is placed before the entry is called.
    let placement: InputPlacement
    /// Which ABI the module speaks.
    let abi: Tributary_V1_FunctionAbi
    /// WASI: `argv` (the function's name, then the manifest's arguments) and the environment.
    let arguments: [String]
    let environment: [String: String]
    /// The environment's members as the function input writes them, written once at deploy.
    let environmentJSON: [UInt8]
    /// The manifest's `maxConcurrency`: invocations of this function the host runs at once (0: no limit).
    let concurrencyLimit: Int
    /// How instances are reused; nil when each invocation needs a fresh one (``notReusableReason``).
    let snapshotPlan: SnapshotPlan?
    /// Why instances of this module are not reused, when they are not.
    public let notReusableReason: String?
    /// Idle instances ready for the next invocation.
    let idleInstances = InstancePool()
    /// How many instances of this module have been made so far (once per worker when reused).
    public var instancesCreated: Int { idleInstances.created.load(ordering: .relaxed) }

    /// How the host hands the input over (docs/function-abi.md).
    enum InputPlacement: Equatable {
        /// Through the guest's exported allocator (`alloc` or `malloc`).
        case allocator(String)
        /// Into the buffer the guest exports as `tributary_input` / `tributary_input_capacity`.
        case exportedBuffer
        /// `handle(0, 0)`; the guest pulls it with `input_len` / `get_input`.
        case pull
    }

    /// Parses and validates `bytes` under `manifest`, resolving its limits with `policy`.
    ///
    /// - Throws: ``FunctionHostError`` `.invalidModule` or `.limitTooHigh` with a reason naming
    ///   the export, import or limit at fault.
    public init(
        bytes: [UInt8], manifest: Tributary_V1_FunctionManifest, policy: FunctionLimitPolicy, name: String = "function"
    ) throws {
        abi = manifest.abi == .wasi ? .wasi : .raw
        limits = try policy.resolve(manifest.limits)
        entry = abi == .wasi ? "_start" : manifest.entry.isEmpty ? "handle" : manifest.entry
        arguments = [name] + manifest.arguments
        environment = manifest.environment
        environmentJSON = FunctionHostService.environmentJSON(manifest.environment)
        concurrencyLimit = Int(manifest.limits.maxConcurrency)
        let module: Module
        do {
            module = try parseWasm(bytes: bytes)
        } catch {
            throw FunctionHostError(.invalidModule, "not a valid WebAssembly module: \(error)")
        }
        // Reused instances need the rewritten module; if anything about it fails, each
        // invocation gets a fresh instance of the module as deployed.
        var plan: SnapshotPlan?
        var reused: Module?
        var reason = "WASI programs run once per instance"
        if abi != .wasi {
            switch SnapshotPlan.make(for: bytes) {
            case .success(let made):
                do {
                    reused = try parseWasm(bytes: made.bytes)
                    plan = made
                } catch {
                    reason = "the module rewritten for reuse does not parse: \(error)"
                }
            case .failure(let refusal):
                reason = refusal.reason
            }
        }
        snapshotPlan = plan
        notReusableReason = plan == nil ? reason : nil
        for entry in module.imports {
            if abi == .wasi {
                guard entry.module == Self.wasiModule, case .function = entry.descriptor else {
                    throw FunctionHostError(
                        .invalidModule,
                        "imports \(entry.module).\(entry.name); a WASI function may import only from \(Self.wasiModule)"
                    )
                }
                continue
            }
            guard entry.module == Self.importModule, Self.hostFunctions[entry.name] != nil,
                case .function = entry.descriptor
            else {
                throw FunctionHostError(
                    .invalidModule,
                    "imports \(entry.module).\(entry.name), which the host does not offer (it offers \(Self.importModule).\(Self.hostFunctions.keys.sorted().joined(separator: ", ")))"
                )
            }
        }
        let exports = Dictionary(
            module.exports.map { ($0.name, $0.descriptor) }, uniquingKeysWith: { first, _ in first })
        guard case .memory = exports["memory"] else {
            throw FunctionHostError(.invalidModule, "does not export its linear memory as 'memory'")
        }
        guard case .function = exports[self.entry] else {
            throw FunctionHostError(.invalidModule, "does not export the entry function '\(self.entry)'")
        }
        if abi == .wasi {
            placement = .pull
        } else if case .function = exports["alloc"] {
            placement = .allocator("alloc")
        } else if case .function = exports["malloc"] {
            placement = .allocator("malloc")
        } else if case .global = exports["tributary_input"], case .global = exports["tributary_input_capacity"] {
            placement = .exportedBuffer
        } else {
            placement = .pull
        }
        self.module = reused ?? module
        // A trial instantiation checks the import and export signatures and the declared memory
        // against the limit, exactly as every invocation will.
        let probe = try FunctionInstance(function: self, engine: Engine(configuration: .init(fuelMetering: true)))
        try probe.checkSignatures()
    }
}
