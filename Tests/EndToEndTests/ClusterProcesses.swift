import Foundation
import Synchronization
import TributaryTesting

#if canImport(Glibc)
    import Glibc
#endif

/// A child process whose output is collected as it comes, so a test can wait for a line.
final class WatchedProcess: Sendable {
    let name: String
    let command: RunningCommand
    private let output = Mutex("")

    init(name: String, _ command: RunningCommand) {
        self.name = name
        self.command = command
        for pipe in [command.stdout, command.stderr] {
            let handle = pipe.fileHandleForReading
            Thread { [self] in
                while true {
                    let chunk = handle.availableData
                    if chunk.isEmpty { break }
                    output.withLock { $0 += String(decoding: chunk, as: UTF8.self) }
                }
            }.start()
        }
    }

    var text: String { output.withLock { $0 } }

    /// The first match of `pattern` in the output, waiting up to `timeout` (a guard against
    /// hangs, not a performance check).
    func waitFor(_ pattern: String, timeout: Duration = .seconds(60)) async throws -> String {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let text = self.text
            if let range = text.range(of: pattern, options: .regularExpression) { return String(text[range]) }
            guard command.process.isRunning else { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw CommandRunnerError(reason: "\(name) never printed /\(pattern)/; its output:\n\(text.suffix(3_000))")
    }

    /// The port of the first `address=http://127.0.0.1:PORT [Gateway] <what> listening` log line.
    func listeningPort(_ what: String) async throws -> Int {
        let line = try await waitFor(#"address=http://127\.0\.0\.1:\d+ \S+ \#(what) listening"#)
        let port = line.split(separator: " ")[0].split(separator: ":").last ?? ""
        return Int(port) ?? 0
    }

    /// SIGINT, then the exit status (SIGKILL after `timeout`).
    func interrupt(timeout: Duration = .seconds(30)) -> Int32 {
        guard command.process.isRunning else { return command.process.terminationStatus }
        kill(command.process.processIdentifier, SIGINT)
        let deadline = ContinuousClock.now + timeout
        while command.process.isRunning && ContinuousClock.now < deadline { usleep(20_000) }
        if command.process.isRunning { command.killHard() }
        command.process.waitUntilExit()
        return command.process.terminationStatus
    }

    /// SIGKILL: no chance to clean up.
    func killHard() {
        if command.process.isRunning { command.killHard() }
    }
}

/// `tributary-kafka-mock` in its own process: the brokers every role process connects to.
final class MockKafkaProcess: Sendable {
    let process: WatchedProcess
    let bootstrapServers: String

    init(partitions: Int) async throws {
        let runner = try CommandRunner(executableNamed: "tributary-kafka-mock")
        process = WatchedProcess(name: "tributary-kafka-mock", try runner.start(["--partitions", String(partitions)]))
        let ready = try await process.waitFor(#"READY [^\n]+"#, timeout: .seconds(120))
        bootstrapServers = String(ready.dropFirst("READY ".count))
    }

    /// Takes every broker down or brings them back, waiting for the helper's answer.
    func setBrokersDown(_ down: Bool) async throws {
        let command = down ? "down" : "up"
        let before = process.text.components(separatedBy: "OK \(command)").count
        process.command.stdin.fileHandleForWriting.write(Data("\(command)\n".utf8))
        let deadline = ContinuousClock.now + .seconds(30)
        while process.text.components(separatedBy: "OK \(command)").count == before {
            guard ContinuousClock.now < deadline else {
                throw CommandRunnerError(reason: "the mock cluster did not acknowledge '\(command)'")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    /// Closes its stdin (it stops) and waits.
    func stop() {
        try? process.command.stdin.fileHandleForWriting.close()
        _ = process.interrupt(timeout: .seconds(10))
    }
}
