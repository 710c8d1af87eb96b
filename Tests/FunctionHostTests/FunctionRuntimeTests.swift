import FunctionHost
import Testing
import TributaryModel
import WAT

/// The raw ABI and every limit, on real WasmKit, with modules written in WAT: well-behaved ones
/// and a hostile corpus. Each hostile module gets its own status and leaves the runtime serving.
@Suite struct FunctionRuntimeTests {
    static let runtime = FunctionRuntime()

    static func compile(
        _ wat: String, entry: String = "", limits: (inout Tributary_V1_FunctionLimits) -> Void = { _ in }
    ) throws -> CompiledFunction {
        var manifest = Tributary_V1_FunctionManifest()
        manifest.abi = .raw
        manifest.entry = entry
        limits(&manifest.limits)
        return try CompiledFunction(bytes: try wat2wasm(wat), manifest: manifest, policy: FunctionLimitPolicy())
    }

    static func run(
        _ wat: String, input: String = "{}", limits: (inout Tributary_V1_FunctionLimits) -> Void = { _ in }
    )
        throws -> InvocationOutcome
    {
        runtime.execute(try compile(wat, limits: limits), input: Array(input.utf8))
    }

    /// Echoes its input (placed through `alloc`) as output and logs once.
    static let echo = """
        (module
          (import "tributary" "set_output" (func $set_output (param i32 i32)))
          (import "tributary" "log" (func $log (param i32 i32 i32)))
          (memory (export "memory") 1)
          (global $next (mut i32) (i32.const 1024))
          (data (i32.const 16) "echoing")
          (func (export "alloc") (param $len i32) (result i32)
            (local $p i32) (local.set $p (global.get $next))
            (global.set $next (i32.add (global.get $next) (local.get $len)))
            (local.get $p))
          (func (export "handle") (param $ptr i32) (param $len i32) (result i32)
            (call $log (i32.const 1) (i32.const 16) (i32.const 7))
            (call $set_output (local.get $ptr) (local.get $len))
            (i32.const 0)))
        """

    @Test func theInputGoesThroughTheGuestsAllocatorAndComesBackAsOutput() throws {
        let outcome = try Self.run(Self.echo, input: #"{"event":{"id":"eip155:1:0xab:1"}}"#)
        #expect(outcome.status == .ok, "\(outcome.error)")
        #expect(String(decoding: outcome.output, as: UTF8.self) == #"{"event":{"id":"eip155:1:0xab:1"}}"#)
        #expect(outcome.logs.map(\.message) == ["echoing"] && outcome.logs.first?.level == "info")
        #expect(outcome.fuelUsed > 0)
    }

    @Test func withoutAnAllocatorTheInputGoesIntoTheExportedBufferOrIsPulled() throws {
        let buffer = """
            (module
              (import "tributary" "set_output" (func $set_output (param i32 i32)))
              (memory (export "memory") 1)
              (global (export "tributary_input") i32 (i32.const 4096))
              (global (export "tributary_input_capacity") i32 (i32.const 64))
              (data (i32.const 64) "\\00\\01\\00\\00")
              (func (export "handle") (param $ptr i32) (param $len i32) (result i32)
                (call $set_output (local.get $ptr) (local.get $len)) (i32.const 0)))
            """
        // The capacity global points at a u32 holding 256.
        let fits = try Self.run(buffer, input: "hello")
        #expect(fits.status == .ok && fits.output == Array("hello".utf8), "\(fits.error)")
        let tooLarge = try Self.run(buffer, input: String(repeating: "x", count: 300))
        #expect(tooLarge.status == .abiError && tooLarge.error.contains("does not fit"))
        let pull = """
            (module
              (import "tributary" "input_len" (func $input_len (result i32)))
              (import "tributary" "get_input" (func $get_input (param i32)))
              (import "tributary" "set_output" (func $set_output (param i32 i32)))
              (memory (export "memory") 1)
              (func (export "handle") (param i32 i32) (result i32)
                (call $get_input (i32.const 100))
                (call $set_output (i32.const 100) (call $input_len)) (i32.const 0)))
            """
        let pulled = try Self.run(pull, input: "pulled")
        #expect(pulled.status == .ok && pulled.output == Array("pulled".utf8), "\(pulled.error)")
    }

    @Test func everyInvocationSeesFreshState() throws {
        // Counts calls in a global and in memory; a fresh instance always answers 1.
        let counter = """
            (module
              (import "tributary" "set_output" (func $set_output (param i32 i32)))
              (memory (export "memory") 1)
              (global $calls (mut i32) (i32.const 0))
              (func (export "handle") (param i32 i32) (result i32)
                (global.set $calls (i32.add (global.get $calls) (i32.const 1)))
                (i32.store8 (i32.const 0) (i32.add (i32.load8_u (i32.const 0)) (i32.const 48)))
                (i32.store8 (i32.const 1) (i32.add (global.get $calls) (i32.const 48)))
                (call $set_output (i32.const 0) (i32.const 2)) (i32.const 0)))
            """
        let function = try Self.compile(counter)
        for _ in 0..<3 {
            let outcome = Self.runtime.execute(function, input: [])
            #expect(String(decoding: outcome.output, as: UTF8.self) == "01")
        }
    }

    /// A guest that computes without ever calling the host cannot be interrupted (WasmKit), but
    /// its deadline becomes a fuel budget: with fuel for minutes and a 50 ms deadline it ends as
    /// a timeout, having used far less than its fuel.
    @Test func aGuestThatNeverCallsTheHostStopsAtItsDeadlinesFuel() throws {
        let spin = """
            (module (memory (export "memory") 1)
              (func (export "handle") (param i32 i32) (result i32) (loop $l (br $l)) (i32.const 0)))
            """
        let outcome = try Self.run(spin) {
            $0.fuel = 10_000_000_000
            $0.timeoutMs = 50
        }
        #expect(outcome.status == .timeout)
        #expect(outcome.error.contains("deadline"), "\(outcome.error)")
        #expect(outcome.fuelUsed > 0 && outcome.fuelUsed < 10_000_000_000)
        // The same module with its fuel as the tighter bound still runs out of fuel.
        #expect(try Self.run(spin) { $0.fuel = 1_000 }.status == .outOfFuel)
    }

    @Test func hostileModulesGetTheirOwnStatus() throws {
        let cases: [(String, String, Tributary_V1_InvocationStatus, String)] = [
            ("infinite loop", "(loop $l (br $l))", .outOfFuel, "fuel"),
            ("unreachable", "unreachable", .trap, "unreachable"),
            ("returns failure", "(return (i32.const 7))", .trap, "returned 7"),
            ("out-of-bounds output", "(call $set_output (i32.const 65000) (i32.const 1000))", .abiError, "outside"),
            (
                "overflowing pointer", "(call $set_output (i32.const 0xfffffff0) (i32.const 32))", .abiError,
                "outside"
            ),
            ("100 MB output", "(call $set_output (i32.const 0) (i32.const 100000000))", .outputTooLarge, "limit"),
            ("out-of-bounds log", "(call $log (i32.const 1) (i32.const 70000) (i32.const 10))", .abiError, "outside"),
            (
                "overflowing log length", "(call $log (i32.const 1) (i32.const 16) (i32.const 0xffffffff))", .abiError,
                "outside"
            ),
            ("out-of-bounds memory access", "(drop (i32.load (i32.const 70000)))", .trap, "out of bounds"),
        ]
        for (name, body, status, message) in cases {
            let wat = """
                (module
                  (import "tributary" "set_output" (func $set_output (param i32 i32)))
                  (import "tributary" "log" (func $log (param i32 i32 i32)))
                  (memory (export "memory") 1)
                  (func (export "handle") (param i32 i32) (result i32) \(body) (i32.const 0)))
                """
            let outcome = try Self.run(wat) { $0.fuel = 1_000_000 }
            #expect(outcome.status == status, "\(name): \(outcome.status) \(outcome.error)")
            #expect(outcome.error.contains(message), "\(name): \(outcome.error)")
            #expect(outcome.output.isEmpty)
        }
        // The runtime still serves a well-behaved function afterwards.
        #expect(try Self.run(Self.echo).status == .ok)
    }

    @Test func recursionMemoryGrowthAndLogFloodsAreBounded() throws {
        let recursion = """
            (module (memory (export "memory") 1)
              (func $r (param i32) (result i32) (call $r (i32.add (local.get 0) (i32.const 1))))
              (func (export "handle") (param i32 i32) (result i32) (call $r (i32.const 0))))
            """
        let deep = try Self.run(recursion)
        #expect(deep.status == .trap && deep.error.contains("call stack exhausted"), "\(deep.error)")

        // Grows until refused, then traps: reported as the memory limit.
        let grow = """
            (module (memory (export "memory") 1)
              (func (export "handle") (param i32 i32) (result i32)
                (loop $l (br_if $l (i32.ne (memory.grow (i32.const 1)) (i32.const -1))))
                unreachable))
            """
        let grown = try Self.run(grow) { $0.memoryPages = 4 }
        #expect(grown.status == .memoryLimit, "\(grown.error)")

        let flood = """
            (module
              (import "tributary" "log" (func $log (param i32 i32 i32)))
              (memory (export "memory") 1)
              (func (export "handle") (param i32 i32) (result i32) (local $i i32)
                (loop $l
                  (call $log (i32.const 2) (i32.const 0) (i32.const 100))
                  (local.set $i (i32.add (local.get $i) (i32.const 1)))
                  (br_if $l (i32.lt_u (local.get $i) (i32.const 10000))))
                (i32.const 0)))
            """
        let flooded = try Self.run(flood) { $0.logBytes = 1_000 }
        #expect(flooded.status == .ok)
        #expect(flooded.logs.count == 11, "10 lines of 100 bytes, then the truncation note")
        #expect(flooded.logs.last?.message.contains("999000 bytes over the 1000-byte limit") == true)
    }

    @Test func modulesTheHostCannotRunAreRefusedAtDeploy() throws {
        let cases: [(String, [UInt8]?, String, String)] = [
            ("invalid bytes", [0x00, 0x61, 0x73, 0x6d, 0xff], "", "not a valid WebAssembly module"),
            (
                "no memory", nil, #"(module (func (export "handle") (param i32 i32) (result i32) (i32.const 0)))"#,
                "memory"
            ),
            ("no entry", nil, #"(module (memory (export "memory") 1))"#, "entry function 'handle'"),
            (
                "mistyped entry", nil, #"(module (memory (export "memory") 1) (func (export "handle") (param i32)))"#,
                "(i32, i32) -> i32"
            ),
            (
                "foreign import", nil,
                #"(module (import "env" "abort" (func)) (memory (export "memory") 1) (func (export "handle") (param i32 i32) (result i32) (i32.const 0)))"#,
                "env.abort"
            ),
            (
                "mistyped import", nil,
                #"(module (import "tributary" "log" (func (param i32))) (memory (export "memory") 1) (func (export "handle") (param i32 i32) (result i32) (i32.const 0)))"#,
                "cannot be instantiated"
            ),
            (
                "too much memory", nil,
                #"(module (memory (export "memory") 100) (func (export "handle") (param i32 i32) (result i32) (i32.const 0)))"#,
                "cannot be instantiated"
            ),
        ]
        for (name, bytes, wat, message) in cases {
            var manifest = Tributary_V1_FunctionManifest()
            manifest.abi = .raw
            let module = try bytes ?? wat2wasm(wat)
            let error = #expect(throws: FunctionHostError.self, "\(name)") {
                try CompiledFunction(bytes: module, manifest: manifest, policy: FunctionLimitPolicy())
            }
            #expect(error?.code == .invalidModule, "\(name)")
            #expect(error?.reason.contains(message) == true, "\(name): \(error?.reason ?? "")")
        }
        var greedy = Tributary_V1_FunctionManifest()
        greedy.limits.memoryPages = 100_000
        let tooHigh = #expect(throws: FunctionHostError.self) {
            try CompiledFunction(bytes: try wat2wasm(Self.echo), manifest: greedy, policy: FunctionLimitPolicy())
        }
        #expect(tooHigh?.code == .limitTooHigh && tooHigh?.reason.contains("memoryPages") == true)
    }
}
