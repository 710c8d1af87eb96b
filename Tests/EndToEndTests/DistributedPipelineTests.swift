import ChainAdapter
import EVM
import EventLog
import Foundation
import KafkaLog
import Processor
import Testing
import TributaryModel
import TributaryTesting

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

extension EndToEndTests {
    /// The distributed mode as an operator runs it: every role in its own `tributary run` process
    /// (two wasm-hosts) on a Kafka cluster (librdkafka's mock, hosted by `tributary-kafka-mock`),
    /// following the devnet. The results must equal, exactly, what the node's own logs say.
    @Suite struct DistributedPipelineTests {
        static let threshold = "1000000000000000000000"  // 1e21, the example's alert threshold
        static let adminKey = "e2e-admin-key-0123456789abcdef"

        @Test func everyRoleInItsOwnProcessProducesExactlyTheExpectedResults() async throws {
            let devnet = try DevnetProcess(arguments: ["--prebuild-blocks", "40", "--prebuild-txs-per-block", "6"])
            defer { devnet.stop() }
            let kafka = try await MockKafkaProcess(partitions: 4)
            defer { kafka.stop() }
            let pipeline = try Pipeline(kafka: kafka, devnets: [devnet])
            defer { pipeline.stopAll() }

            // The gateway first: the function and its trigger exist before any event is routed.
            let gateway = try pipeline.start("gateway", ["gateway"])
            let gatewayURL = "http://127.0.0.1:\(try await gateway.listeningPort("gateway"))"
            try pipeline.deployExample(gatewayURL: gatewayURL)
            let hosts = try ["wasm-host-1", "wasm-host-2"].map { try pipeline.start($0, ["wasm-host"]) }
            for role in ["processor", "router", "adapter"] { _ = try pipeline.start(role, [role]) }

            let expected = try await Self.expectedTransfers(devnet)
            #expect(expected.count > 50, "the devnet's prebuilt traffic should hold ERC-20 transfers")
            let results = try await pipeline.waitForResults(
                covering: Set(expected.keys.map { Pipeline.invocationID(event: $0, retraction: false) }))

            let byInvocation = Dictionary(
                results.map { ($0.invocationID, $0) }, uniquingKeysWith: { first, _ in first })
            let duplicates = results.count - byInvocation.count
            #expect(Set(byInvocation.values.map(\.eventID)) == Set(expected.keys))
            #expect(byInvocation.count == expected.count, "one invocation per transfer")
            for result in byInvocation.values {
                #expect(result.status == .ok, "\(result.eventID): \(result.error)")
                let output = String(decoding: result.output, as: UTF8.self)
                let alert = output.contains(#""alert":true"#)
                #expect(alert == expected[result.eventID], "\(result.eventID): \(output)")
            }
            print("e2e: \(expected.count) transfers, \(byInvocation.count) results, \(duplicates) duplicates")

            // Both wasm-hosts took part, and every process reports itself ready and exposes metrics.
            for host in hosts {
                let metrics = try await pipeline.get(host, "/metrics")
                #expect(metrics.contains("tributary_wasm_host_invocations_total"), "\(host.name) ran nothing")
            }
            for process in pipeline.processes where process.name != "gateway" {
                #expect(try await pipeline.get(process, "/readyz").contains(#""status":"ready""#))
            }
            // Each role stops gracefully on SIGINT.
            for process in pipeline.processes.reversed() {
                #expect(
                    process.interrupt() == 0, "\(process.name) did not stop cleanly:\n\(process.text.suffix(2_000))")
            }
        }

        /// Every ERC-20 Transfer log on the node, by event id, with whether it exceeds the threshold.
        static func expectedTransfers(_ devnet: DevnetProcess) async throws -> [String: Bool] {
            let client = ChainRPCClient(pool: EndpointPool(endpoints: [JSONRPCEndpoint(url: devnet.httpURL)]))
            let head = try await client.blockNumber()
            let transfer =
                "0x" + Hex.encode(Keccak256.hash(Array("Transfer(address,address,uint256)".utf8)), prefix: false)
            // uint256 values as 64 hex digits compare like numbers.
            let threshold = String(repeating: "0", count: 46) + "3635c9adc5dea00000"
            var expected: [String: Bool] = [:]
            for log in try await client.logs(from: 0, to: head)
            where log.topics.count == 3 && log.topics[0].lowercased() == transfer {
                let value = log.data.lowercased().dropFirst(2)
                let id = EventIdentity.eventID(
                    chainID: "eip155:\(devnet.chainID)", blockHash: log.blockHash, logIndex: log.logIndex)
                expected[id] = value.count == 64 && value > threshold
            }
            return expected
        }
    }
}

/// The role processes of one test, on one mock cluster and one devnet.
final class Pipeline: @unchecked Sendable {
    // @unchecked: the process lists are changed from the test's task only.
    let runner: CommandRunner
    let kafka: MockKafkaProcess
    let devnets: [DevnetProcess]
    let extraArguments: [String]
    /// The running processes, in start order (a restarted one takes its predecessor's place).
    private(set) var processes: [WatchedProcess] = []
    private var rolesByName: [String: [String]] = [:]
    /// How many processes were killed with SIGKILL.
    private(set) var kills = 0

    /// Processes on `kafka` following `devnets` (chains `devnet0`, `devnet1`, …), each started
    /// with `extraArguments` too.
    init(kafka: MockKafkaProcess, devnets: [DevnetProcess], extraArguments: [String] = []) throws {
        runner = try CommandRunner()
        self.kafka = kafka
        self.devnets = devnets
        self.extraArguments = extraArguments
    }

    /// The `tributary run` arguments every process gets.
    var commonArguments: [String] {
        [
            "--kafka", kafka.bootstrapServers, "--set", "operations.port=0", "--set", "gateway.port=0",
            "--set", "gateway.adminKey=\(EndToEndTests.DistributedPipelineTests.adminKey)", "--set",
            "wasmHost.workers=1",
            "--set", "kafka.sessionTimeout=6s",
        ] + devnets.enumerated().flatMap { Self.chainArguments(name: "devnet\($0)", $1) } + extraArguments
    }

    /// `--set chains.<name>.…` following `devnet` from block 0.
    static func chainArguments(name: String, _ devnet: DevnetProcess) -> [String] {
        [
            "chainId=\(devnet.chainID)", "rpc=\(devnet.httpURL)", "start=0", "confirmations=4", "pollInterval=500ms",
        ].flatMap { ["--set", "chains.\(name).\($0)"] }
    }

    /// Starts `tributary run <roles>` as `name`.
    func start(_ name: String, _ roles: [String]) throws -> WatchedProcess {
        let process = WatchedProcess(name: name, try runner.start(["run"] + roles + commonArguments))
        processes.append(process)
        rolesByName[name] = roles
        return process
    }

    /// Kills `name` with SIGKILL and starts it again with the same roles.
    @discardableResult
    func killAndRestart(_ name: String) throws -> WatchedProcess {
        guard let index = processes.firstIndex(where: { $0.name == name }), let roles = rolesByName[name] else {
            throw CommandRunnerError(reason: "no process named \(name)")
        }
        processes[index].killHard()
        kills += 1
        let process = WatchedProcess(name: name, try runner.start(["run"] + roles + commonArguments))
        processes[index] = process
        return process
    }

    /// Deploys the example function with its trigger through the gateway, with the CLI.
    func deployExample(gatewayURL: String) throws {
        let module = DevnetProcess.repositoryRoot.appendingPathComponent("examples/build-out/large-transfer.wasm").path
        let environment = [
            "TRIBUTARY_GATEWAY_URL": gatewayURL, "TRIBUTARY_KEY": EndToEndTests.DistributedPipelineTests.adminKey,
        ]
        let deployed = try runner.run(
            [
                "functions", "deploy", "large-transfer", module, "--env",
                "THRESHOLD=\(EndToEndTests.DistributedPipelineTests.threshold)",
            ],
            environment: environment)
        guard deployed.status == 0 else { throw CommandRunnerError(reason: "deploy failed: \(deployed.standardError)") }
        let trigger = try runner.run(
            ["triggers", "add", "--id", "large", "--function", "large-transfer", "--event", "erc20.Transfer"],
            environment: environment)
        guard trigger.status == 0 else { throw CommandRunnerError(reason: "trigger failed: \(trigger.standardError)") }
    }

    /// The invocation id of the example trigger (`large`) invoking version 1 for `event`.
    static func invocationID(event: String, retraction: Bool) -> String {
        ResultCollector.invocationID(trigger: "large", event: event, retraction: retraction)
    }

    /// Reads `function-results` from the cluster until every invocation in `invocationIDs` has a
    /// result (`timeout` at most: a guard against hangs), then a little longer to catch duplicates.
    func waitForResults(
        covering invocationIDs: Set<String>, timeout: Duration = .seconds(120)
    ) async throws -> [Tributary_V1_InvocationResult] {
        let log = try openLog()
        do {
            let results = try await ResultCollector.collect(from: log, covering: invocationIDs, timeout: timeout) {
                self.processes.map { "--- \($0.name)\n\($0.text.suffix(1_500))" }.joined(separator: "\n")
            }
            try await log.shutdown()
            return results
        } catch {
            try? await log.shutdown()
            throw error
        }
    }

    /// A client of the cluster, for reading what the roles wrote.
    func openLog() throws -> KafkaEventLog {
        var configuration = KafkaConfiguration(bootstrapServers: kafka.bootstrapServers, clientID: "e2e-reader")
        configuration.operationTimeout = .seconds(10)
        return try KafkaEventLog(configuration: configuration)
    }

    /// GET `path` on a process's operations endpoints.
    func get(_ process: WatchedProcess, _ path: String) async throws -> String {
        let port = try await process.listeningPort("operations endpoints")
        let (data, _) = try await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(port)\(path)")!)
        return String(decoding: data, as: UTF8.self)
    }

    func stopAll() {
        for process in processes { process.killHard() }
    }
}
