import Foundation

/// Runs a built executable (`tributary` unless told otherwise) as a child process, as a user would.
public struct CommandRunner: Sendable {
    /// What a finished command printed and how it exited.
    public struct Outcome: Sendable {
        public var status: Int32
        public var standardOutput: String
        public var standardError: String

        /// Standard output split into non-empty lines.
        public var outputLines: [String] { standardOutput.split(separator: "\n").map(String.init) }
    }

    /// The executable: next to the test bundle in the build directory.
    public let executable: URL

    /// Finds the executable `name` (default `tributary`) built alongside the tests.
    public init(executableNamed name: String = "tributary") throws {
        var directory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        // swift test runs `<build>/tributaryPackageTests.xctest` (a file on Linux) or a tool inside it.
        for _ in 0..<4 {
            let candidate = directory.appendingPathComponent(name)
            if FileManager.default.isExecutableFile(atPath: candidate.path) {
                executable = candidate
                return
            }
            directory.deleteLastPathComponent()
        }
        throw CommandRunnerError(
            reason:
                "\(name) executable not found near \(CommandLine.arguments[0]): run 'swift build --build-tests' first"
        )
    }

    /// Runs `arguments` with `input` on stdin and waits for the exit.
    public func run(
        _ arguments: [String], input: String = "", environment: [String: String] = [:],
        workingDirectory: String? = nil
    ) throws -> Outcome {
        let process = try start(arguments, environment: environment, workingDirectory: workingDirectory)
        let output = process.readOutputInBackground()
        process.stdin.fileHandleForWriting.write(Data(input.utf8))
        try process.stdin.fileHandleForWriting.close()
        process.process.waitUntilExit()
        let (stdout, stderr) = output.wait()
        return Outcome(status: process.process.terminationStatus, standardOutput: stdout, standardError: stderr)
    }

    /// Starts `arguments` and returns the running process with its pipes.
    public func start(
        _ arguments: [String], environment: [String: String] = [:], workingDirectory: String? = nil
    ) throws -> RunningCommand {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        var merged = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("TRIBUTARY_") }
        merged.merge(environment) { _, new in new }
        process.environment = merged
        if let workingDirectory { process.currentDirectoryURL = URL(fileURLWithPath: workingDirectory) }
        let running = RunningCommand(process: process)
        process.standardInput = running.stdin
        process.standardOutput = running.stdout
        process.standardError = running.stderr
        try process.run()
        return running
    }
}

/// A child process with its three pipes.
public final class RunningCommand: @unchecked Sendable {
    // @unchecked: Process and Pipe are not Sendable; this wrapper is used from one test task at a time.
    public let process: Process
    public let stdin = Pipe()
    public let stdout = Pipe()
    public let stderr = Pipe()

    init(process: Process) { self.process = process }

    /// Collects stdout and stderr on background threads until the process closes them.
    public func readOutputInBackground() -> CollectedOutput {
        let collected = CollectedOutput()
        Self.collect(stdout, into: collected, with: CollectedOutput.setOut)
        Self.collect(stderr, into: collected, with: CollectedOutput.setErr)
        return collected
    }

    /// Collects stderr on a background thread until the process closes it, for a caller that
    /// reads stdout as it comes: a full stderr pipe would otherwise stop the process.
    public func readErrorInBackground() -> CollectedOutput {
        let collected = CollectedOutput()
        Self.collect(stderr, into: collected, with: CollectedOutput.setErr)
        return collected
    }

    private static func collect(
        _ pipe: Pipe, into collected: CollectedOutput,
        with set: @escaping @Sendable (CollectedOutput) -> (String) -> Void
    ) {
        let handle = pipe.fileHandleForReading
        collected.group.enter()
        DispatchQueue.global().async {
            set(collected)(String(decoding: handle.readDataToEndOfFile(), as: UTF8.self))
            collected.group.leave()
        }
    }

    /// Sends SIGKILL: the process gets no chance to clean up.
    public func killHard() {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }
}

/// Output collected from a child process.
public final class CollectedOutput: @unchecked Sendable {
    // @unchecked: fields are written by two reader threads under `lock` and read after `group` completes.
    let group = DispatchGroup()
    private let lock = NSLock()
    private var out = ""
    private var err = ""

    func setOut(_ text: String) { lock.withLock { out = text } }
    func setErr(_ text: String) { lock.withLock { err = text } }

    /// Waits until both streams closed and returns (stdout, stderr).
    public func wait() -> (String, String) {
        group.wait()
        return lock.withLock { (out, err) }
    }
}

/// The executable could not be found or started.
public struct CommandRunnerError: Error, CustomStringConvertible {
    public var reason: String
    public var description: String { reason }
    public init(reason: String) { self.reason = reason }
}
