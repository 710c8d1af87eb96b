// Benchmarks for the event logs. Build and run in release mode:
//   swift build -c release --product tributary-bench && .build/release/tributary-bench all
// Results and the machine they ran on are recorded in BENCHMARKS.md.
import Foundation

let arguments = Array(CommandLine.arguments.dropFirst())
let suite = arguments.first ?? "all"
if suite == "gateway-load" {
    // The fan-out benchmark's load client, started by `gateway-fanout` as a child process.
    try await GatewayLoadClient.run(arguments: Array(arguments.dropFirst()))
    exit(0)
}
let options = BenchOptions(arguments: Array(arguments.dropFirst()))
print("# tributary-bench \(arguments.joined(separator: " "))")
print("# \(MachineDescription.current)")
switch suite {
case "embedded":
    try await EmbeddedLogBenchmark.run(options)
case "embedded-hop":
    try await EmbeddedHopBenchmark.run(options)
case "kafka":
    try await KafkaLogBenchmark.run(options)
case "processor":
    try await ProcessorBenchmark.run(options)
case "router":
    try ProcessorBenchmark.routerMatching(options)
case "kafka-latency":
    try await KafkaLatencyProbe.run(options)
case "wasm":
    try await WasmBenchmark.run(options)
case "backfill":
    try await BackfillBenchmark.run(options)
case "gateway-fanout":
    try await GatewayFanoutBenchmark.run(options)
case "pipeline":
    try await PipelineBenchmark.run(options)
case "kafka-memory":
    try await KafkaLogBenchmark.runMemorySoak(options)
case "all":
    try await EmbeddedLogBenchmark.run(options)
    try await KafkaLogBenchmark.run(options)
    try await ProcessorBenchmark.run(options)
default:
    print(
        "usage: tributary-bench [embedded|kafka|kafka-memory|kafka-latency|processor|router|backfill|wasm|gateway-fanout|pipeline|all] [--records N] [--soak-records N] [--blocks N] [--rounds N] [--txs-per-block N] [--invocations N [--role-only]] [--clients N --rate R [--filtered] [--naive]] [--seconds S]"
    )
    exit(2)
}
