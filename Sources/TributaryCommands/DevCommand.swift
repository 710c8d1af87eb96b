import ArgumentParser
import EventLog
import Foundation
import TributaryModel

/// `tributary dev`: every role in one process on the embedded log.
///
/// Today it opens the embedded log and creates the standard topics; the roles (adapter,
/// processor, router, wasm-host, gateway) join it as they land, and it says so plainly.
struct DevCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dev", abstract: "Run Tributary in one process on the embedded log (Ctrl-C to stop).")

    @OptionGroup var options: GlobalOptions

    @Flag(name: .long, help: "Set up the log and topics, print the summary and exit instead of running.")
    var once = false

    func run() async throws {
        var (configuration, _) = try options.loadConfiguration()
        if configuration.backend != .embedded {
            throw CommandError(
                .invalidConfiguration,
                "tributary dev runs on the embedded log (remove log.backend/kafka.brokers or pass --data); running the roles on Kafka is not built yet"
            )
        }
        configuration.backend = .embedded
        var logger = options.makeLogger()
        logger.logLevel = options.verbose ? .debug : .info
        let log = try await EventLogFactory.makeLog(configuration, logger: logger)
        try await EventLogFactory.createStandardTopics(in: log, configuration: configuration)
        let topics = try await log.describeTopics()
        let directory = URL(fileURLWithPath: configuration.embedded.directory).standardizedFileURL.path
        print("tributary dev: embedded log ready in \(directory)")
        for topic in topics {
            let records = topic.partitions.reduce(Int64(0)) { $0 + $1.endOffset - $1.startOffset }
            print("  \(topic.name): \(topic.partitions.count) partitions, \(records) records")
        }
        print("running: event log (embedded, \(configuration.encoding.rawValue) records)")
        print("not built yet: chain adapter, processor, router, wasm-host, gateway — nothing is ingested yet")
        print("inspect: tributary topics --data \(configuration.embedded.directory)")
        print(
            "         echo '{\"hello\":\"world\"}' | tributary produce raw-events.dlq && tributary tail raw-events.dlq --from-beginning"
        )
        fflush(nil)
        if !once {
            await ShutdownSignal.wait()
            print("tributary dev: stopping")
        }
        try await log.shutdown()
    }
}

/// Waits for SIGINT or SIGTERM.
enum ShutdownSignal {
    static func wait() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let resumed = ResumeOnce(continuation)
            var sources: [any DispatchSourceSignal] = []
            for signalNumber in [SIGINT, SIGTERM] {
                signal(signalNumber, SIG_IGN)
                let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
                source.setEventHandler { resumed.resume() }
                source.resume()
                sources.append(source)
            }
            resumed.retain(sources)
        }
    }

    /// Resumes a continuation once, whichever signal comes first, and keeps the sources alive.
    private final class ResumeOnce: @unchecked Sendable {
        // Guarded by `lock`; @unchecked because DispatchSource handlers run on a global queue.
        private let lock = NSLock()
        private var continuation: CheckedContinuation<Void, Never>?
        private var sources: [any DispatchSourceSignal] = []

        init(_ continuation: CheckedContinuation<Void, Never>) { self.continuation = continuation }

        func retain(_ sources: [any DispatchSourceSignal]) {
            lock.withLock { self.sources = sources }
        }

        func resume() {
            let continuation = lock.withLock {
                defer { self.continuation = nil }
                return self.continuation
            }
            continuation?.resume()
        }
    }
}
