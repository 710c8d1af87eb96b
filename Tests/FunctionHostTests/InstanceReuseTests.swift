import Foundation
import Synchronization
import Testing
import TributaryModel
import WAT

@testable import FunctionHost

/// Instances are reused from a snapshot taken right after instantiation; nothing one invocation
/// writes — memory, hidden globals, grown memory — is visible to the next, and instances that
/// failed are dropped rather than reused.
@Suite struct InstanceReuseTests {
    /// Answers three digits: a memory counter, a hidden global counter and the memory size in
    /// pages. A fresh state answers "111". The input's first byte picks a misbehaviour after the
    /// counters have been written: `g` grows memory, `t` traps, `r` returns failure.
    static let stateful = """
        (module
          (import "tributary" "input_len" (func $input_len (result i32)))
          (import "tributary" "get_input" (func $get_input (param i32)))
          (import "tributary" "set_output" (func $set_output (param i32 i32)))
          (memory (export "memory") 1 4)
          (global $calls (mut i32) (i32.const 0))
          (data (i32.const 0) "0")
          (func (export "handle") (param i32 i32) (result i32)
            (local $mode i32)
            (if (call $input_len) (then
              (call $get_input (i32.const 100))
              (local.set $mode (i32.load8_u (i32.const 100)))))
            (global.set $calls (i32.add (global.get $calls) (i32.const 1)))
            (i32.store8 (i32.const 0) (i32.add (i32.load8_u (i32.const 0)) (i32.const 1)))
            (if (i32.eq (local.get $mode) (i32.const 103)) (then (drop (memory.grow (i32.const 1)))))
            (if (i32.eq (local.get $mode) (i32.const 116)) (then unreachable))
            (if (i32.eq (local.get $mode) (i32.const 114)) (then (return (i32.const 1))))
            (i32.store8 (i32.const 1) (i32.add (global.get $calls) (i32.const 48)))
            (i32.store8 (i32.const 2) (i32.add (memory.size) (i32.const 48)))
            (call $set_output (i32.const 0) (i32.const 3))
            (i32.const 0)))
        """

    static func compile(_ wat: String) throws -> CompiledFunction {
        var manifest = Tributary_V1_FunctionManifest()
        manifest.abi = .raw
        return try CompiledFunction(bytes: try wat2wasm(wat), manifest: manifest, policy: FunctionLimitPolicy())
    }

    @Test func aReusedInstanceStartsFromTheSnapshot() throws {
        let function = try Self.compile(Self.stateful)
        #expect(function.notReusableReason == nil)
        let runtime = FunctionRuntime()
        for _ in 0..<20 {
            let outcome = runtime.execute(function, input: Array("once".utf8))
            #expect(
                outcome.status == .ok && String(decoding: outcome.output, as: UTF8.self) == "111", "\(outcome.error)")
        }
        #expect(function.idleInstances.created.load(ordering: .relaxed) == 1)
        #expect(function.idleInstances.reused.load(ordering: .relaxed) == 19)
    }

    @Test func failedRunsAndGrownMemoryRetireTheInstance() throws {
        let function = try Self.compile(Self.stateful)
        let runtime = FunctionRuntime()
        #expect(String(decoding: runtime.execute(function, input: []).output, as: UTF8.self) == "111")
        let cases: [(String, Tributary_V1_InvocationStatus, String)] = [
            ("trap", .trap, ""), ("return failure", .trap, ""), ("grow", .ok, "112"),
        ]
        for (index, (input, status, output)) in cases.enumerated() {
            let misbehaving = runtime.execute(function, input: Array(input.utf8))
            #expect(misbehaving.status == status && String(decoding: misbehaving.output, as: UTF8.self) == output)
            // The instance it ran on is gone: the next run gets a new one, in a fresh state.
            let next = runtime.execute(function, input: [])
            #expect(next.status == .ok && String(decoding: next.output, as: UTF8.self) == "111", "after \(input)")
            #expect(function.idleInstances.created.load(ordering: .relaxed) == index + 2, "after \(input)")
        }
    }

    @Test func concurrentWorkersNeverShareAnInstance() throws {
        let function = try Self.compile(Self.stateful)
        let runtime = FunctionRuntime()
        let threads = 4
        let wrong = Atomic(0)
        DispatchQueue.concurrentPerform(iterations: threads) { _ in
            for _ in 0..<250 where runtime.execute(function, input: []).output != Array("111".utf8) {
                wrong.add(1, ordering: .relaxed)
            }
        }
        #expect(wrong.load(ordering: .relaxed) == 0)
        #expect(function.idleInstances.created.load(ordering: .relaxed) <= threads)
    }

    @Test func modulesThatChangeTablesGetAFreshInstanceEachTime() throws {
        let tables = """
            (module
              (import "tributary" "set_output" (func $set_output (param i32 i32)))
              (memory (export "memory") 1)
              (table $t 1 funcref)
              (global $calls (mut i32) (i32.const 0))
              (func $f)
              (elem declare func $f)
              (func (export "handle") (param i32 i32) (result i32)
                (table.set $t (i32.const 0) (ref.func $f))
                (global.set $calls (i32.add (global.get $calls) (i32.const 1)))
                (i32.store8 (i32.const 0) (i32.add (global.get $calls) (i32.const 48)))
                (call $set_output (i32.const 0) (i32.const 1)) (i32.const 0)))
            """
        let function = try Self.compile(tables)
        #expect(function.notReusableReason?.contains("table.set") == true)
        let runtime = FunctionRuntime()
        for _ in 0..<3 { #expect(runtime.execute(function, input: []).output == Array("1".utf8)) }
        #expect(function.idleInstances.created.load(ordering: .relaxed) == 3)
    }

    @Test func theReservedExportNamesAreNotAvailableToModules() throws {
        let clash = """
            (module
              (memory (export "memory") 1)
              (global (export "__tributary_snapshot_global_0") (mut i32) (i32.const 0))
              (func (export "handle") (param i32 i32) (result i32) (i32.const 0)))
            """
        let function = try Self.compile(clash)
        #expect(function.notReusableReason?.contains("reserves") == true)
        #expect(FunctionRuntime().execute(function, input: []).status == .ok)
    }
}
