import EventLog
import Foundation
import Processor
import TributaryModel

/// A position in a topic: per partition, the offset of the next record to deliver. Every stream
/// message carries the cursor just after it; a client that comes back with it gets everything
/// after that message and nothing before (within retention).
///
/// Written `<partition>-<offset>` joined by dots (`0-15.1-3.2-0`): only URL-safe characters.
struct StreamCursor: Sendable, Hashable {
    var offsets: [Int: Int64]

    init(offsets: [Int: Int64]) { self.offsets = offsets }

    init?(_ text: String) {
        var offsets: [Int: Int64] = [:]
        for part in text.split(separator: ".") {
            let fields = part.split(separator: "-")
            guard fields.count == 2, let partition = Int(fields[0]), let offset = Int64(fields[1]), partition >= 0,
                offset >= 0, offsets[partition] == nil
            else { return nil }
            offsets[partition] = offset
        }
        guard !offsets.isEmpty else { return nil }
        self.offsets = offsets
    }

    var text: String { offsets.sorted { $0.key < $1.key }.map { "\($0.key)-\($0.value)" }.joined(separator: ".") }
}

/// Where a subscription starts.
enum StreamStart: Sendable, Hashable {
    case latest
    case earliest
    case cursor(StreamCursor)

    init(_ text: String?) throws(GatewayError) {
        switch text {
        case nil, "latest": self = .latest
        case "earliest": self = .earliest
        case .some(let text):
            guard let cursor = StreamCursor(text) else {
                throw GatewayError.badRequest(
                    "from: expected latest, earliest or a cursor from an earlier message (such as 0-15.1-3), got '\(text)'"
                )
            }
            self = .cursor(cursor)
        }
    }
}

/// What one subscription delivers: canonical events through a filter, or function results.
struct StreamSubscription: Sendable {
    enum Stream: String, Sendable, CaseIterable {
        case events
        case results

        var topic: String {
            switch self {
            case .events: StandardTopic.canonicalEvents.name
            case .results: StandardTopic.functionResults.name
            }
        }

        var scope: APIScope {
            switch self {
            case .events: .eventsRead
            case .results: .resultsRead
            }
        }
    }

    /// Which records of an event's life a subscription gets (docs/api.md).
    enum Finality: String, Sendable, CaseIterable {
        /// Every record: first sighting, confirmation, finalization, retraction.
        case all
        /// First sightings and retractions.
        case pending
        /// The record saying the event is confirmed.
        case confirmed
        /// The record saying the event is final.
        case finalized
    }

    var id: String
    var stream: Stream
    var filter: FilterExpression?
    var chains: Set<String>
    var finality: Finality
    var function: String?
    var start: StreamStart

    /// Parses a subscription from the fields of a `subscribe` message or the SSE query.
    init(id: String, fields: [String: Any]) throws(GatewayError) {
        guard (1...64).contains(id.utf8.count) else {
            throw GatewayError.badRequest("id: expected a subscription id of 1 to 64 characters")
        }
        self.id = id
        guard let streamName = fields["stream"] as? String, let stream = Stream(rawValue: streamName) else {
            throw GatewayError.badRequest("stream: expected 'events' or 'results'")
        }
        self.stream = stream
        if let source = fields["filter"] {
            guard let source = source as? String else { throw GatewayError.badRequest("filter: expected a string") }
            if source.trimmingCharacters(in: .whitespaces).isEmpty {
                filter = nil
            } else {
                do {
                    filter = try FilterExpression.compile(source)
                } catch {
                    throw GatewayError.badRequest("filter: \(error.diagnostic)")
                }
            }
        } else {
            filter = nil
        }
        switch fields["chains"] {
        case nil: chains = []
        case let list as [String]: chains = Set(list)
        case let text as String: chains = Set(text.split(separator: ",").map(String.init))
        default: throw GatewayError.badRequest("chains: expected a list of CAIP-2 chain ids such as eip155:1")
        }
        for chain in chains {
            do { try EventIdentity.validateChainID(chain) } catch {
                throw GatewayError.badRequest("chains: \(error)")
            }
        }
        switch fields["finality"] {
        case nil: finality = .all
        case let text as String:
            guard let mode = Finality(rawValue: text) else {
                throw GatewayError.badRequest("finality: expected all, pending, confirmed or finalized, got '\(text)'")
            }
            finality = mode
        default: throw GatewayError.badRequest("finality: expected a string")
        }
        switch fields["function"] {
        case nil: function = nil
        case let name as String: function = name.isEmpty ? nil : name
        default: throw GatewayError.badRequest("function: expected a function name")
        }
        if stream == .events, function != nil {
            throw GatewayError.badRequest("function: only results subscriptions take a function")
        }
        if stream == .results, filter != nil || !chains.isEmpty {
            throw GatewayError.badRequest("filter and chains apply to events subscriptions only")
        }
        guard fields["from"] == nil || fields["from"] is String else {
            throw GatewayError.badRequest("from: expected latest, earliest or a cursor")
        }
        start = try StreamStart(fields["from"] as? String)
    }

    /// Whether the subscription delivers this record.
    func wants(_ decoded: StreamItem.Decoded) -> Bool {
        switch (stream, decoded) {
        case (.events, .event(let event)): accepts(event)
        case (.results, .result(let result)): function.map { $0 == result.functionName } ?? true
        default: false
        }
    }

    /// No filter, chain, finality or function condition: ``wants(_:)`` holds for every readable
    /// record of its stream, so a delivery need not look into the record.
    var wantsEveryRecord: Bool {
        filter == nil && chains.isEmpty && finality == .all && function == nil
    }

    func accepts(_ event: Tributary_V1_CanonicalEvent) -> Bool {
        if !chains.isEmpty, !chains.contains(event.chainID) { return false }
        switch finality {
        case .all: break
        case .pending: guard event.status == .pending || event.removed else { return false }
        case .confirmed: guard event.status == .confirmed else { return false }
        case .finalized: guard event.status == .finalized else { return false }
        }
        return filter?.evaluate(event) ?? true
    }
}
