import EventLog
import Logging
import Metrics
import ServiceLifecycle
import TributaryModel

/// The processor role: consumes `raw-events`, produces one canonical event per log to
/// `canonical-events` (keyed by event id, so every record about one event stays in order), and
/// moves records it cannot read or normalize to `raw-events.dlq` with the reason.
///
/// - Important: Offsets are committed only after every record produced from the polled batch
///   is acknowledged, so a crash repeats work and never loses it.
public struct ProcessorService: Service {
    /// Settings of the processor role.
    public struct Configuration: Sendable {
        /// The consumer group. Default: `tributary-processor`.
        public var group: String
        /// The most raw records handled per poll. Default: 500.
        public var batchSize: Int
        /// How record values are written. Default: `.json`.
        public var encoding: RecordEncoding
        /// The most events of recent, not yet finalized blocks kept in memory (about 1.5 KB each),
        /// so that a block's finality transitions and retraction are not normalized and decoded
        /// again; 0 keeps none. Default: 20,000 (mainnet's blocks from first sighting to finalized
        /// need more; the oldest are then normalized again, as with 0).
        public var reusedEvents: Int

        /// Creates a configuration; every parameter defaults as documented on its property.
        public init(
            group: String = "tributary-processor", batchSize: Int = 500, encoding: RecordEncoding = .json,
            reusedEvents: Int = 20_000
        ) {
            self.group = group
            self.batchSize = batchSize
            self.encoding = encoding
            self.reusedEvents = reusedEvents
        }
    }

    private let log: any EventLog
    private let configuration: Configuration
    private let abis: ABIRegistryBuilder
    private let logger: Logger
    private let eventsProduced = Counter(label: "tributary_processor_events_total")
    private let deadLetters = Counter(label: "tributary_dead_letters_total", dimensions: [("topic", "raw-events.dlq")])
    private let decodeFailures = Counter(label: "tributary_processor_decode_failures_total")
    private let eventsReused = Counter(label: "tributary_processor_events_reused_total")
    private let contentTypeHeader: RecordHeader
    private static let repeatHeader = RecordHeader(name: TributaryRecordHeader.eventRepeat, text: "true")

    /// Creates the role over `log`. Logs are decoded with `abis` plus the event ABIs of the
    /// deployed functions, which it follows in `tributary.functions`.
    public init(
        log: any EventLog, abis: ABIRegistryBuilder = ABIRegistryBuilder(),
        configuration: Configuration = Configuration(),
        logger: Logger = Logger(label: "tributary.processor")
    ) {
        self.log = log
        self.configuration = configuration
        self.abis = abis
        self.logger = logger
        contentTypeHeader = RecordHeader(name: RecordEncoding.headerName, text: configuration.encoding.contentType)
    }

    public func run() async throws {
        let functions = CompactedTopicFollower(log: log, topic: StandardTopic.functions.name)
        do {
            try await withThrowingDiscardingTaskGroup { group in
                group.addTask { try await functions.run() }
                await functions.waitUntilLoaded()
                try await process(functions: functions)
                group.cancelAll()  // processing ended (graceful shutdown): stop following functions
            }
        } catch is CancellationError {
            // Stopped: the followers end by cancellation.
        }
    }

    private func process(functions: CompactedTopicFollower) async throws {
        try await GroupConsumerLoop.run(
            log: log, group: configuration.group, topic: StandardTopic.rawEvents.name, role: "processor", logger: logger
        ) { consumer in
            var normalizer = Normalizer(decoder: NoLogDecoding())
            var recent = RecentBlockEvents(capacity: configuration.reusedEvents)
            var registryVersion = -1
            while !Task.isCancelled {
                let records = try await consumer.poll(maxRecords: configuration.batchSize, timeout: .milliseconds(250))
                guard !records.isEmpty else { continue }
                let snapshot = functions.snapshot
                if snapshot.version != registryVersion {
                    let registry = abis.registry(withFunctions: snapshot.view, logger: logger)
                    normalizer = Normalizer(decoder: EVMLogDecoding(registry: registry))
                    recent = RecentBlockEvents(capacity: configuration.reusedEvents)  // decoded with the old ABIs
                    registryVersion = snapshot.version
                }
                var output: [OutgoingRecord] = []
                for record in records { output += process(record, with: normalizer, recent: &recent) }
                _ = try await log.append(output)
                try await consumer.commit(through: records)
            }
        }
    }

    /// The records produced for one raw record: canonical events, or one dead letter.
    func process(_ record: LogRecord, with normalizer: Normalizer, recent: inout RecentBlockEvents) -> [OutgoingRecord]
    {
        do {
            guard let value = record.value else {
                throw ProcessorError(.invalidRecord, "the record has no value (a tombstone on raw-events)")
            }
            let raw = try RecordEncoding.decode(
                Tributary_V1_RawBlockRecord.self, from: value, contentType: record.contentType)
            let kind = record.headers.last(named: TributaryRecordHeader.recordKind).map {
                String(decoding: $0, as: UTF8.self)
            }
            let events: [Tributary_V1_CanonicalEvent]
            let kept = recent.events(for: raw, kind: kind)
            if let kept {
                events = kept
                eventsReused.increment(by: kept.count)
            } else {
                events = try normalize(raw, with: normalizer)
            }
            recent.update(after: raw, events: events)
            logger.debug(
                raw.removed ? "block retracted" : "block normalized",
                metadata: [
                    "chain": "\(raw.block.chainID)", "block": "\(raw.block.number)", "hash": "\(raw.block.hash)",
                    "events": "\(events.count)",
                ])
            // One set of headers for all of a raw record's events: they share status and origin.
            let status = TributaryRecordHeader.eventStatusValue(status: raw.status, removed: raw.removed)
            let headers =
                [contentTypeHeader, RecordHeader(name: TributaryRecordHeader.eventStatus, text: status)]
                + (kept == nil ? [] : [Self.repeatHeader])
            let records = try events.map { event in
                OutgoingRecord(
                    topic: StandardTopic.canonicalEvents.name, key: Array(event.id.utf8),
                    value: try configuration.encoding.encode(event), headers: headers)
            }
            eventsProduced.increment(by: records.count)
            return records
        } catch {
            deadLetters.increment()
            logger.warning(
                "raw record dead-lettered", metadata: ["position": "\(record.position)", "reason": "\(error)"])
            return [DeadLetter.record(for: record, reason: "\(error)", role: "processor")]
        }
    }

    /// `raw`'s canonical events, with decoding failures counted and logged.
    private func normalize(
        _ raw: Tributary_V1_RawBlockRecord, with normalizer: Normalizer
    ) throws
        -> [Tributary_V1_CanonicalEvent]
    {
        let outcome = try normalizer.normalize(raw)
        for failure in outcome.decodeFailures {
            decodeFailures.increment()
            logger.debug(
                "log did not decode with its ABI",
                metadata: [
                    "block": "\(raw.block.hash)", "log": "\(failure.logIndex)", "reason": "\(failure.reason)",
                ])
        }
        return outcome.events
    }
}
