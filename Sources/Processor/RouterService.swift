import EventLog
import Foundation
import Logging
import Metrics
import ServiceLifecycle
import SwiftProtobuf
import TributaryModel

/// The router role: consumes `canonical-events`, matches each event against every trigger
/// (through a ``TriggerIndex``), holds events until their trigger's finality is reached, and
/// produces `function-invocations` with deterministic ids (``InvocationIdentity``), keyed by
/// event id so an event's invocations and retractions stay in order.
///
/// - Important: Offsets are committed only after the invocations are acknowledged, and never
///   past an event that is still held: after a crash, held events are read again.
public struct RouterService: Service {
    /// Settings of the router role.
    public struct Configuration: Sendable {
        /// The consumer group. Default: `tributary-router`.
        public var group: String
        /// The most events handled per poll. Default: 500.
        public var batchSize: Int
        /// How long an invocation stays wanted (its deadline). Default: 5 minutes.
        public var invocationDeadline: Duration
        /// How record values are written. Default: `.json`.
        public var encoding: RecordEncoding

        /// Creates a configuration; every parameter defaults as documented on its property.
        public init(
            group: String = "tributary-router", batchSize: Int = 500, invocationDeadline: Duration = .seconds(300),
            encoding: RecordEncoding = .json
        ) {
            self.group = group
            self.batchSize = batchSize
            self.invocationDeadline = invocationDeadline
            self.encoding = encoding
        }
    }

    private let log: any EventLog
    private let configuration: Configuration
    private let abis: ABIRegistryBuilder
    private let logger: Logger
    private let invocations = Counter(label: "tributary_router_invocations_total")
    private let unreadable = Counter(label: "tributary_router_unreadable_events_total")
    private let repeatsSkipped = Counter(label: "tributary_router_repeats_skipped_total")
    /// The headers of every invocation record, made once.
    private let invocationHeaders: [RecordHeader]

    /// Creates the role over `log`; trigger events are resolved with `abis` plus the deployed
    /// functions' event ABIs.
    public init(
        log: any EventLog, abis: ABIRegistryBuilder = ABIRegistryBuilder(),
        configuration: Configuration = Configuration(),
        logger: Logger = Logger(label: "tributary.router")
    ) {
        self.log = log
        self.abis = abis
        self.configuration = configuration
        self.logger = logger
        invocationHeaders = [RecordHeader(name: RecordEncoding.headerName, text: configuration.encoding.contentType)]
    }

    public func run() async throws {
        let triggers = CompactedTopicFollower(log: log, topic: StandardTopic.triggers.name)
        let functions = CompactedTopicFollower(log: log, topic: StandardTopic.functions.name)
        do {
            try await withThrowingDiscardingTaskGroup { group in
                group.addTask { try await triggers.run() }
                group.addTask { try await functions.run() }
                await triggers.waitUntilLoaded()
                await functions.waitUntilLoaded()
                try await route(triggers: triggers, functions: functions)
                group.cancelAll()  // routing ended (graceful shutdown): stop following the registry
            }
        } catch is CancellationError {
            // Stopped: the followers end by cancellation.
        }
    }

    private func route(triggers: CompactedTopicFollower, functions: CompactedTopicFollower) async throws {
        try await GroupConsumerLoop.run(
            log: log, group: configuration.group, topic: StandardTopic.canonicalEvents.name, role: "router",
            logger: logger
        ) { consumer in
            try await routeBatches(from: consumer, triggers: triggers, functions: functions)
        }
    }

    private func routeBatches(
        from consumer: any GroupConsumer, triggers: CompactedTopicFollower, functions: CompactedTopicFollower
    ) async throws {
        var machine = RouterStateMachine()
        var index = TriggerIndex([])
        var routed = RoutedEvents(index: index)
        var indexVersion = -1
        var latestVersions: [String: UInt32] = [:]
        var latestVersionsOf = -1
        while !Task.isCancelled {
            let records = try await consumer.poll(maxRecords: configuration.batchSize, timeout: .milliseconds(250))
            guard !records.isEmpty else { continue }
            let snapshot = triggers.snapshot
            let functionsSnapshot = functions.snapshot
            if snapshot.version + functionsSnapshot.version != indexVersion {
                let registry = abis.registry(withFunctions: functionsSnapshot.view, logger: logger)
                index = TriggerIndex(compile(snapshot.view, resolver: EVMEventResolver(registry: registry)))
                indexVersion = snapshot.version + functionsSnapshot.version
                routed = RoutedEvents(index: index)
                logger.info("trigger index rebuilt", metadata: ["triggers": "\(index.triggers.count)"])
            }
            if functionsSnapshot.version != latestVersionsOf {  // decoding every function record is not free
                latestVersions = latestFunctionVersions(functionsSnapshot.view)
                latestVersionsOf = functionsSnapshot.version
            }
            var output: [OutgoingRecord] = []
            var skipped = 0
            for record in records {
                if routed.canSkip(record) {
                    skipped += 1
                    continue
                }
                guard let (event, eventJSON) = decode(record) else { continue }
                let matched = index.matches(event)
                let deliveries = machine.receive(
                    event, matched: matched, source: .init(partition: record.partition, offset: record.offset))
                routed.routed(record, remember: !event.removed && !machine.holds(event.id, forAnyOf: matched))
                output += deliveries.compactMap { delivery in
                    // This record's bytes stand for the event only if the delivery carries it
                    // unchanged (a held event released now is another record's).
                    let sameEvent = eventJSON != nil && delivery.event == event
                    return invocation(
                        for: delivery, latestVersions: latestVersions, eventJSON: sameEvent ? eventJSON : nil)
                }
            }
            if !output.isEmpty { _ = try await log.append(output) }
            invocations.increment(by: output.count)
            repeatsSkipped.increment(by: skipped)
            var offsets = records.nextOffsets
            for (partition, lowest) in machine.heldLowWatermarks() {
                let key = TopicPartition(topic: StandardTopic.canonicalEvents.name, partition: partition)
                if let next = offsets[key] { offsets[key] = min(next, lowest) }
            }
            try await consumer.commit(offsets)
        }
    }

    /// The record's event, with the record's bytes when they are compact JSON.
    private func decode(_ record: LogRecord) -> (Tributary_V1_CanonicalEvent, [UInt8]?)? {
        guard let value = record.value else { return nil }
        do {
            return try RecordEncoding.decodeEventKeepingJSON(from: value, contentType: record.contentType)
        } catch {
            unreadable.increment()
            logger.warning(
                "unreadable canonical event skipped",
                metadata: ["position": "\(record.position)", "reason": "\(error)"])
            return nil
        }
    }

    private func compile(_ view: CompactedTopicView, resolver: any EventSpecificationResolving) -> [CompiledTrigger] {
        view.values.values.compactMap { record in
            guard let value = record.value else { return nil }
            do {
                let trigger = try RecordEncoding.decode(
                    Tributary_V1_TriggerRecord.self, from: value, contentType: record.contentType)
                return try CompiledTrigger(trigger, resolver: resolver)
            } catch {
                logger.error(
                    "trigger skipped",
                    metadata: ["key": "\(String(decoding: record.key ?? [], as: UTF8.self))", "reason": "\(error)"])
                return nil
            }
        }
        .sorted { $0.id < $1.id }
    }

    private func latestFunctionVersions(_ view: CompactedTopicView) -> [String: UInt32] {
        var versions: [String: UInt32] = [:]
        for record in view.values.values {
            guard let value = record.value,
                let function = try? RecordEncoding.decode(
                    Tributary_V1_FunctionRecord.self, from: value, contentType: record.contentType)
            else { continue }
            versions[function.name] = max(versions[function.name] ?? 0, function.version)
        }
        return versions
    }

    /// The invocation record for `delivery`; `eventJSON`, when given, is its event's compact
    /// proto3-JSON, written into the request as it is.
    private func invocation(
        for delivery: RouterStateMachine.Delivery, latestVersions: [String: UInt32], eventJSON: [UInt8]?
    ) -> OutgoingRecord? {
        let trigger = delivery.trigger.record
        let version = trigger.functionVersion != 0 ? trigger.functionVersion : latestVersions[trigger.functionName]
        guard let version else {
            logger.warning(
                "matched event for a function that is not deployed",
                metadata: ["trigger": "\(trigger.id)", "function": "\(trigger.functionName)"])
            return nil
        }
        var request = Tributary_V1_InvocationRequest()
        request.invocationID = InvocationIdentity.invocationID(
            functionName: trigger.functionName, functionVersion: version, eventID: delivery.event.id,
            triggerID: trigger.id, retraction: delivery.event.removed)
        request.functionName = trigger.functionName
        request.functionVersion = version
        request.triggerID = trigger.id
        request.event = delivery.event
        request.attempt = 1
        request.deadline = Google_Protobuf_Timestamp(
            date: Date().addingTimeInterval(configuration.invocationDeadline.secondsValue))
        // Built only when a line is logged (the metadata argument is an autoclosure).
        func ids(_ extra: Logger.Metadata = [:]) -> Logger.Metadata {
            extra.merging([
                "invocation": "\(request.invocationID)", "event": "\(delivery.event.id)", "trigger": "\(trigger.id)",
                "function": "\(trigger.functionName)",
            ]) { $1 }
        }
        let value: [UInt8]
        do {
            value =
                configuration.encoding == .json
                ? try DirectJSON.encode(request, eventJSON: eventJSON) : try configuration.encoding.encode(request)
        } catch {
            logger.error("invocation cannot be encoded", metadata: ids(["reason": "\(error)"]))
            return nil
        }
        logger.debug(delivery.event.removed ? "retraction routed" : "invocation routed", metadata: ids())
        return OutgoingRecord(
            topic: StandardTopic.functionInvocations.name, key: Array(delivery.event.id.utf8), value: value,
            headers: invocationHeaders)
    }
}
