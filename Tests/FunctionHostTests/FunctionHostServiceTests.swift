import EventLog
import Foundation
import FunctionHost
import SwiftProtobuf
import Testing
import TributaryModel
import WAT

/// The wasm-host role on the in-memory log: results for deployed functions, dead letters for the
/// rest, the function input as docs/function-abi.md describes it.
@Suite struct FunctionHostServiceTests {
    static func deploy(
        _ name: String, version: UInt32, wat: String, fuel: UInt64 = 0, timeoutMs: UInt32 = 0,
        maxConcurrency: UInt32 = 0,
        in log: InMemoryEventLog
    ) async throws {
        var function = Tributary_V1_FunctionRecord()
        function.name = name
        function.version = version
        function.module = Data(try wat2wasm(wat))
        function.moduleSha256 = "\(name)-\(version)"
        function.manifest.abi = .raw
        function.manifest.environment = ["THRESHOLD": "5"]
        function.manifest.limits.fuel = fuel
        function.manifest.limits.timeoutMs = timeoutMs
        function.manifest.limits.maxConcurrency = maxConcurrency
        let value = try RecordEncoding.json.encode(function)
        _ = try await log.append([
            OutgoingRecord(topic: StandardTopic.functions.name, key: name, value: value),
            OutgoingRecord(topic: StandardTopic.functions.name, key: "\(name)@\(version)", value: value),
        ])
    }

    static func invocation(_ id: String, function: String, version: UInt32 = 0) throws -> OutgoingRecord {
        var request = Tributary_V1_InvocationRequest()
        request.invocationID = id
        request.functionName = function
        request.functionVersion = version
        request.triggerID = "t1"
        request.attempt = 1
        request.event.id = "eip155:1:0xab:0"
        request.event.chainID = "eip155:1"
        return OutgoingRecord(
            topic: StandardTopic.functionInvocations.name, key: id, value: try RecordEncoding.json.encode(request))
    }

    @Test func theInputIsJSONWithMetadataEnvironmentAndEvent() throws {
        var request = Tributary_V1_InvocationRequest()
        request.invocationID = "inv \"1\"\n"
        request.functionName = "fn\\é"
        request.functionVersion = 3
        request.triggerID = "t\u{01}"
        request.attempt = 2
        request.event.id = "eip155:1:0xab:1"
        let input = FunctionHostService.input(for: request, environment: ["B": "tab\there", "A": "1"])
        let object = try #require(try JSONSerialization.jsonObject(with: Data(input)) as? [String: Any])
        #expect(object["invocationId"] as? String == "inv \"1\"\n")
        #expect(object["functionName"] as? String == "fn\\é" && object["functionVersion"] as? Int == 3)
        #expect(object["triggerId"] as? String == "t\u{01}" && object["attempt"] as? Int == 2)
        #expect(object["environment"] as? [String: String] == ["A": "1", "B": "tab\there"])
        #expect((object["event"] as? [String: Any])?["id"] as? String == "eip155:1:0xab:1")
        // From a JSON record, the event's bytes are taken as they are: the same input.
        let kept = try RecordEncoding.decodeRequestKeepingEvent(
            from: try RecordEncoding.json.encode(request), contentType: RecordEncoding.json.contentType)
        #expect(kept.eventJSON != nil)
        #expect(
            FunctionHostService.input(
                for: kept.request, environment: ["B": "tab\there", "A": "1"], eventJSON: kept.eventJSON)
                == input)
        var direct = Tributary_V1_InvocationRequest()
        direct.input = Data(#"{"x":[1,2]}"#.utf8)
        let directObject = try #require(
            try JSONSerialization.jsonObject(with: Data(FunctionHostService.input(for: direct, environment: [:])))
                as? [String: Any])
        #expect((directObject["input"] as? [String: Any])?["x"] as? [Int] == [1, 2] && directObject["event"] == nil)
    }

    @Test func runsInvocationsAndDeadLettersWhatItCannotRun() async throws {
        let log = InMemoryEventLog()
        for topic in StandardTopic.all {
            try await log.createTopic(TopicConfiguration(name: topic.name, partitions: 2, compacted: topic.compacted))
        }
        try await Self.deploy("echo", version: 1, wat: FunctionRuntimeTests.echo, in: log)
        let loop = """
            (module (memory (export "memory") 1)
              (func (export "handle") (param i32 i32) (result i32) (loop $l (br $l)) (i32.const 0)))
            """
        try await Self.deploy("spin", version: 3, wat: loop, fuel: 10_000, in: log)
        _ = try await log.append([
            try Self.invocation("i-1", function: "echo"),
            try Self.invocation("i-2", function: "echo", version: 2),
            OutgoingRecord(topic: StandardTopic.functionInvocations.name, key: "bad", value: Array("garbage".utf8)),
            try Self.invocation("i-3", function: "spin", version: 3),
        ])
        let service = FunctionHostService(log: log, configuration: .init(workers: 2))
        let task = Task { try await service.run() }
        defer { task.cancel() }

        var results: [String: Tributary_V1_InvocationResult] = [:]
        var deadLetters: [String] = []
        let resultsReader = try await log.makeReader(topic: StandardTopic.functionResults.name, from: .earliest)
        let dlqReader = try await log.makeReader(
            topic: StandardTopic.functionInvocationsDeadLetters.name, from: .earliest)
        for _ in 0..<200 where results.count < 2 || deadLetters.count < 2 {
            for record in try await resultsReader.poll(maxRecords: 100, timeout: .milliseconds(50)) {
                let result = try RecordEncoding.decode(
                    Tributary_V1_InvocationResult.self, from: record.value ?? [], contentType: record.contentType)
                results[result.invocationID] = result
                #expect(record.key == Array(result.invocationID.utf8), "results are keyed by invocation id")
            }
            for record in try await dlqReader.poll(maxRecords: 100, timeout: .milliseconds(50)) {
                deadLetters.append(
                    record.headers.last(named: DeadLetter.reasonHeader).map { String(decoding: $0, as: UTF8.self) }
                        ?? "")
            }
        }
        let echoed = try #require(results["i-1"])
        #expect(echoed.status == .ok && echoed.functionVersion == 1 && echoed.eventID == "eip155:1:0xab:0")
        let input = try #require(try JSONSerialization.jsonObject(with: echoed.output) as? [String: Any])
        #expect(input["invocationId"] as? String == "i-1" && input["triggerId"] as? String == "t1")
        #expect((input["event"] as? [String: Any])?["id"] as? String == "eip155:1:0xab:0")
        #expect((input["environment"] as? [String: String]) == ["THRESHOLD": "5"])
        #expect(echoed.logs.map(\.message) == ["echoing"])
        #expect(results["i-3"]?.status == .outOfFuel)
        #expect(deadLetters.sorted().count == 2)
        #expect(deadLetters.contains { $0.contains("function 'echo' version 2 is not deployed") })
        #expect(deadLetters.contains { $0.contains("not an invocation request") })
    }

    /// More invocations than a batch, for a function without a limit and one with a concurrency
    /// limit of 1 (whose invocations wait on the cooperative pool): every invocation gets exactly
    /// one result, each partition's in the order of its invocations, and the offsets are committed.
    @Test func everyInvocationOfManyBatchesGetsOneResultInOrder() async throws {
        let log = InMemoryEventLog()
        for topic in StandardTopic.all {
            try await log.createTopic(TopicConfiguration(name: topic.name, partitions: 2, compacted: topic.compacted))
        }
        try await Self.deploy("echo", version: 1, wat: FunctionRuntimeTests.echo, in: log)
        try await Self.deploy("one-at-a-time", version: 1, wat: FunctionRuntimeTests.echo, maxConcurrency: 1, in: log)
        let ids = (0..<300).map { "i-\($0)" }
        _ = try await log.append(
            try ids.enumerated().map { try Self.invocation($1, function: $0 % 3 == 0 ? "one-at-a-time" : "echo") })
        let task = Task {
            try await FunctionHostService(log: log, configuration: .init(workers: 2, batchSize: 16)).run()
        }
        defer { task.cancel() }
        let reader = try await log.makeReader(topic: StandardTopic.functionResults.name, from: .earliest)
        var byPartition: [Int: [String]] = [:]
        var received: [String] = []
        for _ in 0..<400 where received.count < ids.count {
            for record in try await reader.poll(maxRecords: 100, timeout: .milliseconds(50)) {
                let result = try RecordEncoding.decode(
                    Tributary_V1_InvocationResult.self, from: record.value ?? [], contentType: record.contentType)
                #expect(result.status == .ok, "\(result.invocationID): \(result.error)")
                // The echo's output is its input: each invocation saw its own, whole (inputs are
                // written into a buffer each worker reuses, here on both the batch and the
                // concurrency-limited path).
                let echoed = (try? JSONSerialization.jsonObject(with: result.output)) as? [String: Any]
                #expect(echoed?["invocationId"] as? String == result.invocationID, "the input of another invocation")
                received.append(result.invocationID)
                byPartition[record.position.partition, default: []].append(result.invocationID)
            }
        }
        #expect(received.sorted() == ids.sorted(), "one result per invocation")
        // Results are keyed by invocation id and invocations by the same id, so both land in the
        // same partition; within it results follow the invocations' order.
        for (_, partitionIDs) in byPartition {
            let numbers = partitionIDs.map { Int($0.dropFirst(2))! }
            #expect(numbers == numbers.sorted())
        }
        var committed = 0
        for _ in 0..<100 {
            let offsets = try await log.committedOffsets(group: "tributary-wasm-host")
            committed = offsets.filter { $0.key.topic == StandardTopic.functionInvocations.name }.values
                .reduce(0) { $0 + Int($1) }
            if committed == ids.count { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(committed == ids.count, "every offset committed once its result was stored")
    }

    @Test func expiredAndTimedOutInvocationsAreDeadLetteredWithTheReason() async throws {
        let log = InMemoryEventLog()
        for topic in StandardTopic.all {
            try await log.createTopic(TopicConfiguration(name: topic.name, partitions: 1, compacted: topic.compacted))
        }
        // Calls the host in a long loop: the deadline is checked at every host call.
        let slow = """
            (module
              (import "tributary" "input_len" (func $input_len (result i32)))
              (memory (export "memory") 1)
              (func (export "handle") (param i32 i32) (result i32) (local $i i32)
                (loop $l
                  (drop (call $input_len))
                  (local.set $i (i32.add (local.get $i) (i32.const 1)))
                  (br_if $l (i32.lt_u (local.get $i) (i32.const 100000000))))
                (i32.const 0)))
            """
        try await Self.deploy("slow", version: 1, wat: slow, fuel: 10_000_000_000, timeoutMs: 1, in: log)
        var expired = Tributary_V1_InvocationRequest()
        expired.invocationID = "late"
        expired.functionName = "slow"
        expired.deadline = Google_Protobuf_Timestamp(date: Date(timeIntervalSinceNow: -60))
        _ = try await log.append([
            try Self.invocation("i-slow", function: "slow"),
            OutgoingRecord(
                topic: StandardTopic.functionInvocations.name, key: "late",
                value: try RecordEncoding.json.encode(expired)),
        ])
        let task = Task { try await FunctionHostService(log: log, configuration: .init(workers: 1)).run() }
        defer { task.cancel() }
        let reader = try await log.makeReader(topic: StandardTopic.functionInvocationsDeadLetters.name, from: .earliest)
        var reasons: [String] = []
        for _ in 0..<600 where reasons.count < 2 {
            for record in try await reader.poll(maxRecords: 10, timeout: .milliseconds(50)) {
                reasons.append(
                    record.headers.last(named: DeadLetter.reasonHeader).map { String(decoding: $0, as: UTF8.self) }
                        ?? "")
            }
        }
        #expect(reasons.contains { $0.contains("timed out on all 3 attempts") }, "\(reasons)")
        #expect(reasons.contains { $0.contains("deadline") && $0.contains("passed before it could run") }, "\(reasons)")
    }
}
