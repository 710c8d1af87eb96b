import Foundation
import SwiftProtobuf
import Testing
import TributaryModel

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

    @Test func largeTransferAlertsAboveTheThresholdFromTheEnvironment() throws {
        let path = Self.examples.appendingPathComponent("large-transfer.wasm").path
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
        let broken = runtime.execute(function, input: Array("{not json".utf8))
        #expect(broken.status == .trap && broken.error.contains("returned 1"))
        #expect(broken.logs.contains { $0.level == "error" })
    }
}
