import SwiftProtobuf

/// The topics Tributary's roles exchange records on. The names are the seed system's and are
/// fixed: external consumers rely on them.
public struct StandardTopic: Sendable, Hashable {
    /// The topic name.
    public var name: String
    /// Whether the topic keeps only the latest record per key.
    public var compacted: Bool
    /// The message type its values carry, or `nil` for dead-letter topics (original bytes).
    public var messageType: (any SwiftProtobuf.Message.Type)?

    public static func == (lhs: StandardTopic, rhs: StandardTopic) -> Bool { lhs.name == rhs.name }
    public func hash(into hasher: inout Hasher) { hasher.combine(name) }

    /// Blocks and logs from the chain adapters.
    public static let rawEvents = StandardTopic(
        name: "raw-events", compacted: false, messageType: Tributary_V1_RawBlockRecord.self)
    /// Records the processor could not read, with the original bytes and the reason in headers.
    public static let rawEventsDeadLetters = StandardTopic(name: "raw-events.dlq", compacted: false, messageType: nil)
    /// Normalized, decoded events.
    public static let canonicalEvents = StandardTopic(
        name: "canonical-events", compacted: false, messageType: Tributary_V1_CanonicalEvent.self)
    /// Work for the WebAssembly host.
    public static let functionInvocations = StandardTopic(
        name: "function-invocations", compacted: false, messageType: Tributary_V1_InvocationRequest.self)
    /// Invocations that failed permanently or ran out of retries.
    public static let functionInvocationsDeadLetters = StandardTopic(
        name: "function-invocations.dlq", compacted: false, messageType: nil)
    /// Results of function invocations.
    public static let functionResults = StandardTopic(
        name: "function-results", compacted: false, messageType: Tributary_V1_InvocationResult.self)
    /// Deployed functions (compacted).
    public static let functions = StandardTopic(
        name: "tributary.functions", compacted: true, messageType: Tributary_V1_FunctionRecord.self)
    /// Triggers (compacted).
    public static let triggers = StandardTopic(
        name: "tributary.triggers", compacted: true, messageType: Tributary_V1_TriggerRecord.self)
    /// API keys, stored hashed (compacted).
    public static let apiKeys = StandardTopic(
        name: "tributary.keys", compacted: true, messageType: Tributary_V1_ApiKeyRecord.self)

    /// Every standard topic, in data-flow order.
    public static let all: [StandardTopic] = [
        rawEvents, rawEventsDeadLetters, canonicalEvents, functionInvocations, functionInvocationsDeadLetters,
        functionResults, functions, triggers, apiKeys,
    ]

    /// The standard topic named `name`, if any.
    public static func named(_ name: String) -> StandardTopic? {
        all.first { $0.name == name }
    }

    /// The dead-letter topic of a topic: `<topic>.dlq`.
    public static func deadLetterName(of topic: String) -> String { topic + ".dlq" }
}

extension StandardTopic {
    /// A value of this topic as proto3-JSON, whichever encoding it was written in; `nil` for
    /// dead-letter topics or values that do not parse.
    public func canonicalJSON(of value: [UInt8], contentType: String?) -> [UInt8]? {
        guard let messageType else { return nil }
        return try? RecordEncoding.decode(messageType, from: value, contentType: contentType).jsonUTF8Bytes()
    }

    /// Parses a proto3-JSON value of this topic's message type and writes it in `encoding`.
    /// Dead-letter topics take the bytes as they are.
    ///
    /// - Throws: ``ModelError`` `.malformedRecord` naming the message type and the problem.
    public func encodeJSONValue(_ json: [UInt8], as encoding: RecordEncoding) throws -> [UInt8] {
        guard let messageType else { return json }
        let message = try RecordEncoding.decode(messageType, from: json, contentType: RecordEncoding.json.contentType)
        return try encoding.encode(message)
    }
}
