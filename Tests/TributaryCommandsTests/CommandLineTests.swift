import EmbeddedLog
import EventLog
import Foundation
import Testing
import TributaryTesting

/// The CLI as a user runs it: the built executable in a child process.
@Suite struct CommandLineTests {
    let runner: CommandRunner
    init() throws { runner = try CommandRunner() }

    @Test func devCreatesTheStandardTopicsAndProduceTailRoundTrip() throws {
        let data = TemporaryDirectory()
        defer { data.remove() }
        let dev = try runner.run(["dev", "--once", "--data", data.path])
        #expect(dev.status == 0, "\(dev.standardError)")
        #expect(dev.standardOutput.contains("gateway: http://127.0.0.1:8080/v1"), "dev must say where the gateway is")
        #expect(FileManager.default.fileExists(atPath: data.path + "/dev-admin-key"))

        let topics = try runner.run(["topics", "--data", data.path])
        #expect(topics.status == 0)
        for name in [
            "raw-events", "canonical-events", "function-invocations", "function-results", "tributary.triggers",
        ] {
            #expect(topics.standardOutput.contains(name))
        }

        let input = """
            {"key": "a", "value": {"n": 1}, "headers": {"trace": "t1"}}
            {"plain": true}
            {"key": "a", "value": null}
            """
        let produced = try runner.run(
            ["produce", "raw-events.dlq", "--data", data.path, "--print-positions"], input: input)
        #expect(produced.status == 0, "\(produced.standardError)")
        #expect(produced.outputLines.count == 3)

        let tail = try runner.run([
            "tail", "raw-events.dlq", "--from-beginning", "--no-follow", "--json", "--data", data.path,
        ])
        #expect(tail.status == 0, "\(tail.standardError)")
        let lines = try tail.outputLines.map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
        #expect(lines.count == 3)
        #expect(lines.first?["key"] as? String == "a")
        #expect((lines.first?["value"] as? [String: Any])?["n"] as? Int == 1)
        #expect((lines.first?["headers"] as? [String: Any])?["trace"] as? String == "t1")
        #expect((lines[1]["value"] as? [String: Any])?["plain"] as? Bool == true)
        #expect(lines[1]["key"] is NSNull)
        #expect(lines[2]["value"] is NSNull, "a null value is a tombstone")
        #expect(lines.allSatisfy { $0["topic"] as? String == "raw-events.dlq" && $0["offset"] is Int })
    }

    @Test func standardTopicValuesAreValidatedAndWrittenInTheChosenEncoding() throws {
        let data = TemporaryDirectory()
        defer { data.remove() }
        #expect(try runner.run(["dev", "--once", "--data", data.path]).status == 0)
        let event =
            #"{"key": "eip155:1:0xab:1", "value": {"id": "eip155:1:0xab:1", "chainId": "eip155:1", "blockNumber": "17", "status": "FINALITY_STATUS_PENDING"}}"#
        let produced = try runner.run(
            ["produce", "canonical-events", "--data", data.path, "--encoding", "protobuf"], input: event)
        #expect(produced.status == 0, "\(produced.standardError)")
        let tail = try runner.run([
            "tail", "canonical-events", "--from-beginning", "--no-follow", "--json", "--data", data.path,
        ])
        let line = try #require(tail.outputLines.first)
        let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
        #expect((object["headers"] as? [String: Any])?["content-type"] as? String == "application/x-protobuf")
        let value = try #require(object["value"] as? [String: Any])
        #expect(value["chainId"] as? String == "eip155:1")
        #expect(value["blockNumber"] as? String == "17")

        let invalid = try runner.run(
            ["produce", "canonical-events", "--data", data.path], input: "{\"value\": {\"blockNumber\": \"x\"}}\n")
        #expect(invalid.status != 0)
        #expect(invalid.standardError.contains("stdin line 1"))
        #expect(invalid.standardError.contains("tributary.v1.CanonicalEvent"))
    }

    @Test func userErrorsAreOneClearLineAndNonZero() throws {
        let data = TemporaryDirectory()
        defer { data.remove() }
        #expect(try runner.run(["dev", "--once", "--data", data.path]).status == 0)

        let unknownTopic = try runner.run(["tail", "no-such-topic", "--data", data.path])
        #expect(unknownTopic.status != 0)
        #expect(unknownTopic.standardError.contains("unknown topic 'no-such-topic'"))

        let badConfig = try runner.run(
            ["topics", "--data", data.path], environment: ["TRIBUTARY_LOG_BACKEND": "postgres"])
        #expect(badConfig.status != 0)
        #expect(badConfig.standardError.contains("TRIBUTARY_LOG_BACKEND"))

        let corrupt = TemporaryDirectory()
        defer { corrupt.remove() }
        try Data(repeating: 0x42, count: 4096).write(to: URL(fileURLWithPath: corrupt.appending("log.sqlite")))
        let corruptRun = try runner.run(["topics", "--data", corrupt.path])
        #expect(corruptRun.status != 0)
        #expect(corruptRun.standardError.contains("damaged or not a Tributary data directory"))

        let unknownRole = try runner.run(["run", "indexer", "--data", data.path])
        #expect(unknownRole.status != 0)
        #expect(unknownRole.standardError.contains("unknown role 'indexer'"))
        let adapterWithoutChain = try runner.run(["run", "adapter", "--data", data.path])
        #expect(adapterWithoutChain.status != 0)
        #expect(adapterWithoutChain.standardError.contains("the adapter role needs a chain"))

        let deadRPC = try runner.run(["dev", "--once", "--data", data.path, "--rpc", "http://127.0.0.1:1"])
        #expect(deadRPC.status != 0)
        #expect(deadRPC.standardError.contains("--rpc http://127.0.0.1:1: cannot read eth_chainId"))

        for outcome in [unknownTopic, badConfig, corruptRun, unknownRole, adapterWithoutChain, deadRPC] {
            let lines = outcome.standardError.split(separator: "\n").filter { !$0.isEmpty }
            #expect(lines.count <= 2, "expected a short error, got: \(outcome.standardError)")
            #expect(!outcome.standardError.contains("Fatal error"))
            #expect(!outcome.standardError.contains("Stack dump"))
        }
    }

    @Test func devRunsTheRolesAndStopsCleanlyOnSIGINT() throws {
        let data = TemporaryDirectory()
        defer { data.remove() }
        let dev = try runner.start(["dev", "--data", data.path, "--set", "gateway.port=0"])
        let errors = dev.readErrorInBackground()
        // Interrupt only once dev says what runs (its signal handling is installed right after).
        var stdout = ""
        let handle = dev.stdout.fileHandleForReading
        while !stdout.contains("running:") {
            let chunk = handle.availableData
            if chunk.isEmpty { break }
            stdout += String(decoding: chunk, as: UTF8.self)
        }
        #expect(stdout.contains("running: event log"))
        // While it runs, no second process may run its roles on the same directory: the
        // embedded log's consumer groups do not span processes.
        let pid = dev.process.processIdentifier
        for second in [
            ["run", "processor", "--data", data.path],
            ["dev", "--data", data.path, "--set", "gateway.port=0"],
        ] {
            // Started, not run: without the lock it would run the roles a second time, forever.
            let attempt = try runner.start(second)
            let output = attempt.readOutputInBackground()
            let deadline = Date().addingTimeInterval(30)
            while attempt.process.isRunning, Date() < deadline { Thread.sleep(forTimeInterval: 0.1) }
            guard !attempt.process.isRunning else {
                attempt.killHard()
                Issue.record("\(second.joined(separator: " ")) ran beside a running tributary dev")
                continue
            }
            let (_, standardError) = output.wait()
            #expect(attempt.process.terminationStatus != 0)
            #expect(standardError.contains("another tributary process (pid \(pid)) runs the "), "\(standardError)")
            #expect(
                standardError.contains("the adapter of chain devnet") || standardError.contains("the processor role"))
            #expect(!standardError.contains("Fatal error"))
        }
        #expect(try runner.run(["topics", "--data", data.path]).status == 0, "readers take no lock")
        kill(dev.process.processIdentifier, SIGINT)
        stdout += String(decoding: handle.readDataToEndOfFile(), as: UTF8.self)
        let (_, stderr) = errors.wait()
        dev.process.waitUntilExit()
        #expect(dev.process.terminationStatus == 0, "\(stderr)")
        #expect(stdout.contains("tributary dev: stopped"))
        #expect(!stderr.contains("Error"), "\(stderr)")
    }

    @Test func configCheckNamesTheOffendingKey() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let file = directory.appending("tributary.yaml")
        try "log:\n  partitions: -2\n".write(toFile: file, atomically: true, encoding: .utf8)
        let outcome = try runner.run(["config", "check", "--config", file])
        #expect(outcome.status != 0)
        #expect(outcome.standardError.contains("key 'log.partitions'"))
        let good = try runner.run(["config", "check", "--set", "log.encoding=protobuf"])
        #expect(good.status == 0)
        #expect(good.standardOutput.contains("log.encoding = protobuf  (flag --set)"))
    }
}
