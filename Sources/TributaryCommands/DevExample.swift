import EventLog
import Foundation
import FunctionHost
import Gateway
import TributaryModel

/// `tributary dev`'s example: on the first run (no function deployed yet) it deploys
/// `examples/large-transfer` (built by `examples/build`) with a trigger on every ERC-20 Transfer,
/// so the devnet's traffic produces function results right away.
enum DevExample {
    static let function = "large-transfer"
    static let trigger = "large-transfer-erc20"
    static let modulePath = "examples/build-out/large-transfer.wasm"

    /// Deploys the example when nothing is deployed; returns what it did, for the announcement.
    static func deployOnFirstRun(
        log: any EventLog, configuration: TributaryConfiguration
    ) async throws -> String? {
        let functions = try await log.describeTopic(StandardTopic.functions.name)
        guard functions.partitions.allSatisfy({ $0.endOffset == 0 }) else { return nil }
        guard let module = FileManager.default.contents(atPath: modulePath) else {
            return
                "example: not deployed (\(modulePath) is missing; run examples/build, then start again on a fresh --data)"
        }
        var manifest = Tributary_V1_FunctionManifest()
        manifest.abi = .raw
        manifest.environment = ["THRESHOLD": "1000000000000000000000"]  // 1,000 tokens of 18 decimals
        manifest.description_p = "alerts on ERC-20 transfers above THRESHOLD (examples/large-transfer)"
        // Validated as the gateway validates deploys.
        _ = try CompiledFunction(
            bytes: Array(module), manifest: manifest, policy: configuration.wasmHost.policy, name: function)
        let record = RegistryRecords.function(name: function, version: 1, module: Array(module), manifest: manifest)
        var trigger = Tributary_V1_TriggerRecord()
        trigger.id = Self.trigger
        trigger.functionName = function
        trigger.event = "erc20.Transfer"
        trigger.finality.instant = true
        _ = try await log.append(
            try RegistryRecords.appends(for: record, encoding: configuration.encoding)
                + [try RegistryRecords.append(for: trigger, encoding: configuration.encoding)])
        return "example: deployed function \(function) v1 with trigger \(Self.trigger) (every ERC-20 Transfer)"
    }
}
