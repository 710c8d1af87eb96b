import Foundation
import SwiftProtobuf
import Testing
import TributaryModel
import WAT

@testable import FunctionHost

/// The C example built by examples/build (scripts/test builds it first), run through the real
/// host with the input the wasm-host role builds from a canonical event.
@Suite struct ExampleFunctionTests {
    static let examples = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("examples/build-out")

    static func transfer(value: String, removed: Bool = false) -> Tributary_V1_InvocationRequest {
        var request = Tributary_V1_InvocationRequest()
        request.invocationID = "inv-1"
        request.functionName = "large-transfer"
        request.functionVersion = 1
        request.attempt = 1
        request.event.id = "eip155:1:0xab:3"
        request.event.address = "0x6b175474e89094c44da98b954eedeac495271d0f"
        request.event.removed = removed
        request.event.decoded.name = "Transfer"
        request.event.decoded.signature = "Transfer(address,address,uint256)"
        for (name, text, indexed) in [
            ("from", "0x28c6c06298d514db089934071355e5743bf21d60", true),
            ("to", "0xd8da6bf26964af9d7eed9e03e53415d37aa96045", true), ("value", value, false),
        ] {
            var argument = Tributary_V1_DecodedArgument()
            argument.name = name
            argument.type = name == "value" ? "uint256" : "address"
            argument.indexed = indexed
            argument.value = Google_Protobuf_Value(stringValue: text)
            request.event.decoded.arguments.append(argument)
        }
        return request
    }

    /// The C and the Embedded Swift builds of the same example behave identically.
    @Test(arguments: ["large-transfer.wasm", "large-transfer-swift.wasm"])
    func largeTransferAlertsAboveTheThresholdFromTheEnvironment(module: String) throws {
        let path = Self.examples.appendingPathComponent(module).path
        let bytes = try #require(FileManager.default.contents(atPath: path), "run examples/build first")
        var manifest = Tributary_V1_FunctionManifest()
        manifest.abi = .raw
        let function = try CompiledFunction(bytes: Array(bytes), manifest: manifest, policy: FunctionLimitPolicy())
        let runtime = FunctionRuntime()
        let environment = ["THRESHOLD": "1000000000000000000000000"]  // 1,000,000 tokens of 18 decimals
        let large = runtime.execute(
            function,
            input: FunctionHostService.input(
                for: Self.transfer(value: "2500000000000000000000000"), environment: environment))
        #expect(large.status == .ok, "\(large.error)")
        let alert = try #require(try JSONSerialization.jsonObject(with: Data(large.output)) as? [String: Any])
        #expect(alert["alert"] as? Bool == true)
        #expect(alert["value"] as? String == "2500000000000000000000000")
        #expect(alert["to"] as? String == "0xd8da6bf26964af9d7eed9e03e53415d37aa96045")
        let small = runtime.execute(
            function,
            input: FunctionHostService.input(
                for: Self.transfer(value: "42000000000000000000"), environment: environment))
        #expect(small.status == .ok && String(decoding: small.output, as: UTF8.self) == #"{"alert":false}"#)
        // Real toolchains' modules (a hidden __stack_pointer, heap tops) are reused from a snapshot,
        // and a reused instance answers exactly as a fresh one.
        #expect(function.notReusableReason == nil)
        let again = runtime.execute(
            function,
            input: FunctionHostService.input(
                for: Self.transfer(value: "2500000000000000000000000"), environment: environment))
        #expect(again.output == large.output && again.fuelUsed == large.fuelUsed)
        #expect(function.idleInstances.created.load(ordering: .relaxed) == 1)
        let broken = runtime.execute(function, input: Array("{not json".utf8))
        #expect(broken.status == .trap && broken.error.contains("returned 1"))
        #expect(broken.logs.contains { $0.level == "error" })
        // Malformed JSON inside the event is refused, not copied into the output; so is an
        // ERC-721 Transfer (a tokenId instead of a value).
        let valid = String(
            decoding: FunctionHostService.input(
                for: Self.transfer(value: "2500000000000000000000000"), environment: environment), as: UTF8.self)
        // So is input that does not end where its object does (the C build checks the end
        // instead of validating the whole input first).
        for malformed in [valid + "x", String(valid.dropLast()), String(valid.dropLast()) + ",}"] {
            let refused = runtime.execute(function, input: Array(malformed.utf8))
            #expect(refused.status == .trap && refused.output.isEmpty, "\(malformed.suffix(3)): \(refused.status)")
        }
        for (original, replacement) in [
            ("\"0x28c6c06298d514db089934071355e5743bf21d60\"", "\"0x28c6\\u00zz\""), ("\"value\",", "\"tokenId\","),
        ] {
            #expect(valid.contains(original))
            let refused = runtime.execute(
                function, input: Array(valid.replacingOccurrences(of: original, with: replacement).utf8))
            #expect(refused.status == .trap && refused.output.isEmpty, "\(replacement): \(refused.status)")
        }
    }
}

/// WASI preview1 guests: the wasi-echo example (C against wasi-libc) and WAT programs.
@Suite struct WASIFunctionTests {
    static func manifest(arguments: [String] = [], environment: [String: String] = [:]) -> Tributary_V1_FunctionManifest
    {
        var manifest = Tributary_V1_FunctionManifest()
        manifest.abi = .wasi
        manifest.arguments = arguments
        manifest.environment = environment
        return manifest
    }

    @Test func stdinStdoutStderrArgumentsAndEnvironment() throws {
        let path = ExampleFunctionTests.examples.appendingPathComponent("wasi-echo.wasm").path
        let bytes = try #require(FileManager.default.contents(atPath: path), "run examples/build first")
        let function = try CompiledFunction(
            bytes: Array(bytes), manifest: Self.manifest(arguments: ["a", "b"], environment: ["GREETING": "hi"]),
            policy: FunctionLimitPolicy(), name: "echo")
        let outcome = FunctionRuntime().execute(function, input: Array(#"{"x":1}"#.utf8))
        #expect(outcome.status == .ok, "\(outcome.error)")
        let echoed = try #require(try JSONSerialization.jsonObject(with: Data(outcome.output)) as? [String: Any])
        #expect(echoed["bytes"] as? Int == 7 && echoed["input"] as? String == #"{"x":1}"#)
        #expect(echoed["arguments"] as? [String] == ["a", "b"] && echoed["greeting"] as? String == "hi")
        #expect(outcome.logs.map(\.message) == ["wasi-echo: echoed 7 bytes"])
    }

    /// A program that writes `count` times 16 bytes to stdout, then exits with `code`.
    static func writer(count: Int, code: Int) -> String {
        """
        (module
          (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
          (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
          (memory (export "memory") 1)
          (data (i32.const 0) "\\10\\00\\00\\00\\10\\00\\00\\00")
          (data (i32.const 16) "0123456789abcdef")
          (func (export "_start") (local $i i32)
            (block $done (loop $l
              (br_if $done (i32.ge_u (local.get $i) (i32.const \(count))))
              (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 100)))
              (local.set $i (i32.add (local.get $i) (i32.const 1)))
              (br $l)))
            (call $proc_exit (i32.const \(code)))))
        """
    }

    @Test func exitCodesOutputLimitsAndForeignImports() throws {
        let runtime = FunctionRuntime()
        func run(_ wat: String, outputBytes: UInt32 = 0) throws -> InvocationOutcome {
            var manifest = Self.manifest()
            manifest.limits.outputBytes = outputBytes
            return runtime.execute(
                try CompiledFunction(bytes: try wat2wasm(wat), manifest: manifest, policy: FunctionLimitPolicy()),
                input: [])
        }
        let ok = try run(Self.writer(count: 2, code: 0))
        #expect(ok.status == .ok && ok.output == Array("0123456789abcdef0123456789abcdef".utf8), "\(ok.error)")
        let failed = try run(Self.writer(count: 1, code: 3))
        #expect(failed.status == .trap && failed.error == "the function exited with 3")
        let large = try run(Self.writer(count: 100, code: 0), outputBytes: 100)
        #expect(large.status == .outputTooLarge, "\(large.error)")
        let foreign = #expect(throws: FunctionHostError.self) {
            try CompiledFunction(
                bytes: try wat2wasm(
                    #"(module (import "tributary" "log" (func (param i32 i32 i32))) (memory (export "memory") 1) (func (export "_start")))"#
                ), manifest: Self.manifest(), policy: FunctionLimitPolicy())
        }
        #expect(foreign?.reason.contains("may import only from wasi_snapshot_preview1") == true)
    }
}
