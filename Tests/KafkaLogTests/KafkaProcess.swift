import Foundation

/// Runs a command-line tool (here `kcat`) to completion on a dedicated thread, off the
/// cooperative pool, feeding it `input` and collecting its output.
struct KafkaProcess {
    /// What the process printed and how it ended.
    struct Output {
        var status: Int32
        var standardOutput: String
        var standardError: String
    }

    /// The path of `kcat` on `PATH` (or the usual install locations), or `nil` when it is missing.
    static var kcatPath: String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
        let directories =
            path.split(separator: ":").map(String.init) + ["/usr/bin", "/usr/local/bin", "/opt/homebrew/bin"]
        return directories.map { "\($0)/kcat" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// Runs `executable` with `arguments`, killing it after `timeout`.
    static func run(
        _ executable: String, _ arguments: [String], input: String = "", timeout: Duration = .seconds(60)
    )
        async throws -> Output
    {
        try await withCheckedThrowingContinuation { continuation in
            let thread = Thread {
                continuation.resume(
                    with: Result { try runBlocking(executable, arguments, input: input, timeout: timeout) })
            }
            thread.start()
        }
    }

    private static func runBlocking(
        _ executable: String, _ arguments: [String], input: String, timeout: Duration
    )
        throws -> Output
    {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let standardInput = Pipe()
        let standardOutput = Pipe()
        let standardError = Pipe()
        process.standardInput = standardInput
        process.standardOutput = standardOutput
        process.standardError = standardError
        try process.run()
        let watchdog = DispatchWorkItem { if process.isRunning { process.terminate() } }
        DispatchQueue.global().asyncAfter(
            deadline: .now() + .milliseconds(Int(timeout.components.seconds * 1000)), execute: watchdog)
        defer { watchdog.cancel() }
        standardInput.fileHandleForWriting.write(Data(input.utf8))
        try standardInput.fileHandleForWriting.close()
        // stderr is drained on another thread so neither pipe can fill up and stall the tool.
        let errorData = ErrorCollector(handle: standardError.fileHandleForReading)
        let outputData = standardOutput.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Output(
            status: process.terminationStatus, standardOutput: String(decoding: outputData, as: UTF8.self),
            standardError: errorData.wait())
    }

    /// Reads a pipe to its end on a background thread.
    private final class ErrorCollector: @unchecked Sendable {
        // @unchecked Sendable: `data` is written once by the reading thread before `done` is
        // signalled and read only after waiting for `done`.
        private var data = Data()
        private let done = DispatchSemaphore(value: 0)

        init(handle: FileHandle) {
            Thread {
                self.data = handle.readDataToEndOfFile()
                self.done.signal()
            }.start()
        }

        func wait() -> String {
            done.wait()
            return String(decoding: data, as: UTF8.self)
        }
    }
}
