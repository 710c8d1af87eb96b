import ArgumentParser
import Foundation

/// `tributary devnet`: the local development chain alone (devnet/, a real EVM over JSON-RPC).
struct DevnetCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "devnet",
        abstract: "Run the local development chain (py-evm over JSON-RPC on 127.0.0.1; see devnet/README.md).",
        discussion: "Arguments after -- go to the devnet, for example: tributary devnet -- --port 8545 --traffic 5")

    @Argument(parsing: .captureForPassthrough, help: "Arguments for the devnet (--port, --traffic, --block-time, …).")
    var arguments: [String] = []

    func run() async throws {
        let script = try Self.locateRunScript()
        let process = Process()
        process.executableURL = script
        process.arguments = arguments.first == "--" ? Array(arguments.dropFirst()) : arguments
        try process.run()
        process.waitUntilExit()
        if process.terminationStatus != 0 { throw ExitCode(process.terminationStatus) }
    }

    /// `devnet/run` in the working directory or next to the build directory this binary is in.
    static func locateRunScript() throws -> URL {
        var candidates = [URL(fileURLWithPath: FileManager.default.currentDirectoryPath)]
        var directory = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
            .deletingLastPathComponent()
        for _ in 0..<4 {
            candidates.append(directory)
            directory.deleteLastPathComponent()
        }
        for candidate in candidates {
            let script = candidate.appendingPathComponent("devnet/run")
            if FileManager.default.isExecutableFile(atPath: script.path) { return script }
        }
        throw CommandError(
            .invalidInput, "devnet/run not found: run tributary devnet from the Tributary repository (it holds devnet/)"
        )
    }
}
