import EventLog
import Foundation
import KafkaLog
import TributaryTesting

/// Times sequential appends under a few producer settings, to find where append latency goes.
enum KafkaLatencyProbe {
    static func run(_ options: BenchOptions) async throws {
        let variants: [(String, (inout KafkaConfiguration) -> Void)] = [
            ("default", { _ in }),
            (
                "no idempotence, acks=1",
                {
                    $0.idempotence = false; $0.acknowledgements = .leader
                }
            ),
            ("linger 0", { $0.linger = .zero }),
            ("1 broker", { _ in }),
        ]
        for (name, adjust) in variants {
            let cluster = try KafkaTestCluster(brokerCount: name == "1 broker" ? 1 : 3)
            try await cluster.createTopic(TopicConfiguration(name: "probe", partitions: 3))
            let log = try cluster.openLog(adjust)
            for batch in [1, 10] {
                _ = try await log.append([OutgoingRecord(topic: "probe", key: "warm", value: options.value(0))])
                let start = ContinuousClock.now
                for round in 0..<20 {
                    _ = try await log.append(
                        (0..<batch).map {
                            OutgoingRecord(topic: "probe", key: "k\(round)-\($0)", value: options.value($0))
                        })
                }
                print("\(name), batch \(batch): \((ContinuousClock.now - start) / 20) per append")
            }
            try await log.shutdown()
            await cluster.close()
        }
    }
}
