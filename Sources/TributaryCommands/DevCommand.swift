import ArgumentParser
import EventLog
import Foundation
import Processor
import ServiceLifecycle
import TributaryModel

/// `tributary dev`: every role in one process on the embedded log.
///
/// Opens the embedded log, creates the standard topics and runs the processor and router in a
/// service group until SIGINT or SIGTERM; the adapter, wasm-host and gateway join it as they
/// land, and it says so plainly.
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
        let announcementLines = [
            "running: event log (embedded, \(configuration.encoding.rawValue) records), processor, router",
            "not built yet: chain adapter, wasm-host, gateway — nothing is ingested yet",
            "inspect: tributary topics --data \(configuration.embedded.directory)",
            "         tributary tail canonical-events --data \(configuration.embedded.directory)",
        ]
        if once {
            announcementLines.forEach { print($0) }
            fflush(nil)
        } else {
            let abis = try ABIRegistryBuilder.configured(try configuration.loadABIs())
            let processor = ProcessorService(
                log: log, abis: abis, configuration: .init(encoding: configuration.encoding), logger: logger)
            let router = RouterService(
                log: log, abis: abis, configuration: .init(encoding: configuration.encoding), logger: logger)
            // Announced from inside the group: its signal handlers are installed by then, so a
            // Ctrl-C right after the announcement stops everything gracefully.
            let announcement = AnnouncementService(lines: announcementLines)
            let group = ServiceGroup(
                configuration: ServiceGroupConfiguration(
                    services: [.init(service: announcement), .init(service: processor), .init(service: router)],
                    gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
            try await group.run()
            print("tributary dev: stopped")
        }
        try await log.shutdown()
    }
}

/// Prints what `tributary dev` runs once the service group is up, then waits for shutdown.
struct AnnouncementService: Service {
    let lines: [String]

    func run() async throws {
        lines.forEach { print($0) }
        fflush(nil)
        try? await gracefulShutdown()
    }
}
