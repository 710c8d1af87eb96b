import Foundation
import Testing
import TributaryTesting

#if canImport(Glibc)
    import Glibc
#endif

/// The CLI's gateway client commands against a live `tributary dev` (no devnet; gateway on a free
/// port), as a user runs them.
@Suite struct GatewayClientCommandTests {
    let runner: CommandRunner
    init() throws { runner = try CommandRunner() }

    /// Starts dev and returns it with the gateway URL it logged.
    func startDev(data: String) throws -> (RunningCommand, String) {
        let dev = try runner.start(["dev", "--no-devnet", "--data", data, "--set", "gateway.port=0"])
        var stderr = ""
        let handle = dev.stderr.fileHandleForReading
        while true {
            let chunk = handle.availableData
            if chunk.isEmpty { break }
            stderr += String(decoding: chunk, as: UTF8.self)
            if let range = stderr.range(of: #"address=http://127\.0\.0\.1:\d+"#, options: .regularExpression) {
                _ = dev.readOutputInBackground()  // keeps the pipes drained for the rest of the run
                return (dev, String(stderr[range].dropFirst("address=".count)))
            }
        }
        throw CommandRunnerError(reason: "dev did not report the gateway: \(stderr)")
    }

    @Test func functionsTriggersKeysAndStreamsThroughTheGateway() throws {
        let data = TemporaryDirectory()
        defer { data.remove() }
        let (dev, url) = try startDev(data: data.path)
        defer {
            kill(dev.process.processIdentifier, SIGINT)
            dev.process.waitUntilExit()
        }
        let key = try String(contentsOfFile: data.path + "/dev-admin-key", encoding: .utf8)
        let environment = ["TRIBUTARY_GATEWAY_URL": url, "TRIBUTARY_KEY": key]
        func cli(_ arguments: [String], input: String = "") throws -> CommandRunner.Outcome {
            try runner.run(arguments, input: input, environment: environment)
        }
        // The first run deployed the example with its trigger.
        #expect(try cli(["functions", "list"]).standardOutput.contains("large-transfer  v1  raw"))
        #expect(try cli(["triggers", "list"]).standardOutput.contains("large-transfer-erc20  → large-transfer"))
        let module = DevnetProcess.repositoryRoot.appendingPathComponent("examples/build-out/large-transfer.wasm").path
        let deployed = try cli(["functions", "deploy", "large-transfer", module, "--env", "THRESHOLD=1000"])
        #expect(
            deployed.status == 0 && deployed.standardOutput.contains("deployed large-transfer version 2"),
            "\(deployed.standardError)")
        #expect(try cli(["functions", "list"]).standardOutput.contains("large-transfer  v2  raw"))

        let invoked = try cli(
            ["functions", "invoke", "large-transfer", "--timeout", "20s"], input: #"{"probe": true}"#)
        #expect(invoked.status == 0, "\(invoked.standardError)")
        #expect(invoked.standardOutput.contains("\"invocationId\""), "\(invoked.standardOutput)")

        let streamed = try cli(["tail", "--stream", "results", "--from-beginning", "--limit", "1"])
        #expect(streamed.status == 0 && streamed.outputLines.count == 1, "\(streamed.standardError)")
        #expect(streamed.standardOutput.contains("\"functionName\":\"large-transfer\""))

        let added = try cli([
            "triggers", "add", "--id", "big", "--function", "large-transfer", "--event",
            "Transfer(address,address,uint256)",
            "--filter", "args.value > 1000",
        ])
        #expect(
            added.status == 0 && added.standardOutput.contains("trigger big → large-transfer"), "\(added.standardError)"
        )
        #expect(try cli(["triggers", "list"]).standardOutput.contains("big  → large-transfer"))
        let tested = try cli(["triggers", "test", "--function", "large-transfer", "--recent", "10"])
        #expect(
            tested.status == 0 && tested.standardOutput.contains("matched 0 of 0 events"), "\(tested.standardError)")
        let badTrigger = try cli(["triggers", "add", "--function", "large-transfer", "--filter", "block.height > 1"])
        #expect(badTrigger.status != 0 && badTrigger.standardError.contains("unknown field 'height'"))
        #expect(try cli(["triggers", "rm", "big"]).status == 0)

        let created = try cli(["keys", "create", "--name", "dashboard", "--scope", "events:read"])
        #expect(created.status == 0 && created.outputLines.count == 2)
        let reader = created.outputLines.last ?? ""
        #expect(reader.hasPrefix("trb_"))
        let listed = try cli(["keys", "list"])
        #expect(listed.standardOutput.contains("dashboard  events:read") && !listed.standardOutput.contains(reader))
        let forbidden = try runner.run(
            ["functions", "list"], environment: ["TRIBUTARY_GATEWAY_URL": url, "TRIBUTARY_KEY": reader])
        #expect(forbidden.status != 0 && forbidden.standardError.contains("the key may not do this"))
        let wrong = try runner.run(["functions", "list", "--gateway", url, "--key", "trb_wrong"])
        #expect(wrong.status != 0 && wrong.standardError.contains("the gateway refused the key"))
        let keyID =
            listed.outputLines.first { $0.contains("dashboard") }?.split(separator: " ").first.map(String.init) ?? ""
        #expect(try cli(["keys", "revoke", keyID]).status == 0)
        #expect(
            try runner.run(["functions", "list", "--gateway", url, "--key", reader]).standardError.contains("revoked"))

        #expect(try cli(["functions", "rm", "large-transfer"]).status == 0)
        let unreachable = try runner.run(["functions", "list", "--gateway", "http://127.0.0.1:1", "--key", key])
        #expect(
            unreachable.status != 0
                && unreachable.standardError.contains("cannot reach the gateway at http://127.0.0.1:1"))
    }
}
