import Foundation

/// The local development chain (`devnet/`, py-evm behind a JSON-RPC server) as a child
/// process on a free port, for tests against a real EVM node. Its test controls
/// (`devnet_mine`, `devnet_reorg`, `devnet_injectFailure`, …) are ordinary JSON-RPC calls;
/// see devnet/README.md.
public final class DevnetProcess: @unchecked Sendable {
    // @unchecked: `process` is only started in init and terminated in stop(), from one test.
    private let process: Process
    /// `http://127.0.0.1:PORT`.
    public let httpURL: String
    /// `ws://127.0.0.1:PORT`.
    public let webSocketURL: String
    /// The chain id.
    public let chainID: UInt64
    /// Everything the READY line said.
    public let ready: [String: Any]

    /// The repository root, from this file's location.
    public static let repositoryRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// Starts `devnet/.venv/bin/python -m devnet --port 0 --exit-with-parent <arguments>` and waits
    /// for its READY line. The devnet stops with this process even when it is killed or crashes.
    ///
    /// - Throws: ``DevnetError`` when the virtual environment is missing (run `scripts/setup`),
    ///   the process exits early, or READY does not come within `timeout`.
    public init(arguments: [String] = [], timeout: Duration = .seconds(120)) throws {
        let python = Self.repositoryRoot.appendingPathComponent("devnet/.venv/bin/python")
        guard FileManager.default.isExecutableFile(atPath: python.path) else {
            throw DevnetError(
                reason: "\(python.path) is missing: run scripts/setup to create the devnet's virtual environment")
        }
        let process = Process()
        process.executableURL = python
        process.arguments = ["-m", "devnet", "--port", "0", "--exit-with-parent"] + arguments
        process.currentDirectoryURL = Self.repositoryRoot
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        self.process = process
        let deadline = ContinuousClock.now.advanced(by: timeout)
        var buffer = Data()
        var readyLine: String?
        let handle = output.fileHandleForReading
        while readyLine == nil {
            guard ContinuousClock.now < deadline, process.isRunning else { break }
            let chunk = handle.availableData
            if chunk.isEmpty { break }
            buffer.append(chunk)
            readyLine = String(decoding: buffer, as: UTF8.self).split(separator: "\n").first { $0.hasPrefix("READY ") }
                .map(String.init)
        }
        guard let readyLine,
            let ready = try? JSONSerialization.jsonObject(with: Data(readyLine.dropFirst(6).utf8)) as? [String: Any],
            let http = ready["http"] as? String, let ws = ready["ws"] as? String, let chainID = ready["chainId"] as? Int
        else {
            process.terminate()
            throw DevnetError(
                reason: "the devnet did not print READY: \(String(decoding: buffer, as: UTF8.self).prefix(500))")
        }
        // Keep draining stdout so the child never blocks on a full pipe.
        DispatchQueue.global().async { while !handle.availableData.isEmpty {} }
        self.ready = ready
        self.httpURL = http
        self.webSocketURL = ws
        self.chainID = UInt64(chainID)
    }

    /// Stops the devnet: SIGTERM, then SIGKILL if it has not exited within five seconds.
    public func stop() {
        guard process.isRunning else { return }
        let pid = process.processIdentifier
        kill(pid, SIGTERM)
        // Poll rather than waitUntilExit(), which can block forever here while another thread
        // still reads the child's stdout.
        for _ in 0..<100 where process.isRunning { usleep(50_000) }
        if process.isRunning { kill(pid, SIGKILL) }
    }

    deinit { stop() }
}

/// The devnet could not be started or controlled.
public struct DevnetError: Error, CustomStringConvertible {
    public var reason: String
    public init(reason: String) { self.reason = reason }
    public var description: String { reason }
}
