import Foundation
import ServiceLifecycle

/// The local development chain as a child of `tributary dev`: started on a free port with its
/// traffic generator, stopped with the process (it also exits by itself if `tributary` is killed).
final class DevnetLauncher: Sendable {
    /// What the devnet's READY line announced.
    struct Ready: Sendable {
        var httpURL: String
        var webSocketURL: String
        var chainID: UInt64
    }

    private let process: Process
    let ready: Ready

    /// Starts `devnet/run --port 0 --exit-with-parent <arguments>` and waits for READY.
    ///
    /// - Throws: ``CommandError`` when the devnet cannot start (its last output is included).
    init(arguments: [String]) async throws {
        let process = Process()
        process.executableURL = try DevnetCommand.locateRunScript()
        process.arguments = ["--port", "0", "--exit-with-parent"] + arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.standardError
        try process.run()
        self.process = process
        let handle = output.fileHandleForReading
        let line: String? = await withCheckedContinuation { continuation in
            // Blocking reads on a thread of their own; after READY it keeps draining stdout so
            // the child never blocks on a full pipe.
            Thread.detachNewThread {
                var buffer = Data()
                var answered = false
                while true {
                    let chunk = handle.availableData
                    if chunk.isEmpty { break }
                    guard !answered else { continue }
                    buffer.append(chunk)
                    if let ready = String(decoding: buffer, as: UTF8.self).split(separator: "\n").first(where: {
                        $0.hasPrefix("READY ")
                    }) {
                        answered = true
                        continuation.resume(returning: String(ready.dropFirst(6)))
                    }
                }
                if !answered { continuation.resume(returning: nil) }
            }
        }
        guard let line, let json = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
            let http = json["http"] as? String, let ws = json["ws"] as? String, let chainID = json["chainId"] as? Int
        else {
            Self.stop(process)
            throw CommandError(
                .unavailable, "the development chain did not start (see its output above); try: tributary devnet")
        }
        ready = Ready(httpURL: http, webSocketURL: ws, chainID: UInt64(chainID))
    }

    /// Stops the devnet: SIGTERM, then SIGKILL after five seconds.
    func stop() { Self.stop(process) }

    private static func stop(_ process: Process) {
        guard process.isRunning else { return }
        let pid = process.processIdentifier
        kill(pid, SIGTERM)
        for _ in 0..<100 where process.isRunning { usleep(50_000) }
        if process.isRunning { kill(pid, SIGKILL) }
    }
}

/// Keeps the devnet for as long as the service group runs and stops it at shutdown.
struct DevnetService: Service {
    let devnet: DevnetLauncher

    func run() async throws {
        try? await gracefulShutdown()
        devnet.stop()
    }
}
