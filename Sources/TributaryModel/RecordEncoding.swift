import Foundation
import SwiftProtobuf

/// How a record value is serialized. A record's `content-type` header names it, and readers
/// accept both, so a deployment can switch encodings without rewriting its topics.
public enum RecordEncoding: String, Sendable, Hashable, CaseIterable {
    /// proto3-JSON: readable with kcat and any JSON tool. The default.
    case json
    /// Binary protobuf: smaller and faster.
    case protobuf

    /// The header that names a record's encoding.
    public static let headerName = "content-type"

    /// The `content-type` header value.
    public var contentType: String {
        switch self {
        case .json: "application/json"
        case .protobuf: "application/x-protobuf"
        }
    }

    /// The encoding a `content-type` header value names, or `nil` for anything else.
    public init?(contentType: String) {
        // The values Tributary writes, compared first: the general parse below allocates and goes
        // through Foundation, and every role reads this header on every record.
        if contentType == "application/json" {
            self = .json
            return
        }
        if contentType == "application/x-protobuf" {
            self = .protobuf
            return
        }
        switch contentType.split(separator: ";").first?.trimmingCharacters(in: .whitespaces).lowercased() {
        case "application/json": self = .json
        case "application/x-protobuf", "application/protobuf": self = .protobuf
        default: return nil
        }
    }

    /// Serializes `message`.
    public func encode(_ message: some SwiftProtobuf.Message) throws -> [UInt8] {
        switch self {
        case .json:
            // The most written records have a direct encoder.
            if let event = message as? Tributary_V1_CanonicalEvent {
                try DirectJSON.encode(event)
            } else if let request = message as? Tributary_V1_InvocationRequest {
                try DirectJSON.encode(request)
            } else if let result = message as? Tributary_V1_InvocationResult {
                try DirectJSON.encode(result)
            } else {
                try message.jsonUTF8Bytes()
            }
        case .protobuf: try message.serializedBytes()
        }
    }

    /// Parses a value written in either encoding. With no `content-type`, a value starting with
    /// `{` is read as JSON, anything else as protobuf.
    ///
    /// - Throws: ``ModelError`` `.malformedRecord` naming the message type and the reason.
    public static func decode<M: SwiftProtobuf.Message>(
        _ type: M.Type, from bytes: [UInt8], contentType: String?
    ) throws -> M {
        let encoding = of(bytes, contentType: contentType)
        do {
            switch encoding {
            case .json:
                // The records every role reads most, in the form Tributary writes them, have a
                // direct reader; anything else (or unusual) is swift-protobuf's to decide.
                if M.self == Tributary_V1_CanonicalEvent.self, let event = DirectJSON.decodeEvent(bytes) {
                    return event as! M
                }
                if M.self == Tributary_V1_InvocationRequest.self, let request = DirectJSON.decodeRequest(bytes) {
                    return request as! M
                }
                var options = JSONDecodingOptions()
                options.ignoreUnknownFields = true
                return try M(jsonUTF8Bytes: bytes, options: options)
            case .protobuf:
                return try M(serializedBytes: bytes)
            }
        } catch {
            throw ModelError(
                .malformedRecord, "not a valid \(M.protoMessageName) in \(encoding.rawValue): \(error)")
        }
    }

    /// An invocation request record read as ``decode(_:from:contentType:)`` reads it, with its
    /// event's proto3-JSON as the record carries it when the record is compact JSON (see
    /// ``DirectJSON/decodeRequestKeepingEvent(_:)``): the wasm host puts those bytes in the
    /// function input instead of writing the event again.
    ///
    /// - Throws: ``ModelError`` (`.malformedRecord`) when the bytes are not an invocation request.
    public static func decodeRequestKeepingEvent(
        from bytes: [UInt8], contentType: String?
    ) throws -> (request: Tributary_V1_InvocationRequest, eventJSON: ArraySlice<UInt8>?) {
        if of(bytes, contentType: contentType) == .json, let decoded = DirectJSON.decodeRequestKeepingEvent(bytes) {
            return decoded
        }
        return (try decode(Tributary_V1_InvocationRequest.self, from: bytes, contentType: contentType), nil)
    }

    /// A canonical event record read as ``decode(_:from:contentType:)`` reads it, with the
    /// record's bytes when they are compact JSON (see ``DirectJSON/decodeEventNotingForm(_:)``):
    /// the router puts those into invocation requests instead of writing the event again.
    ///
    /// - Throws: ``ModelError`` (`.malformedRecord`) when the bytes are not a canonical event.
    public static func decodeEventKeepingJSON(
        from bytes: [UInt8], contentType: String?
    ) throws -> (event: Tributary_V1_CanonicalEvent, eventJSON: [UInt8]?) {
        if of(bytes, contentType: contentType) == .json, let decoded = DirectJSON.decodeEventNotingForm(bytes) {
            return (decoded.event, decoded.compact ? bytes : nil)
        }
        return (try decode(Tributary_V1_CanonicalEvent.self, from: bytes, contentType: contentType), nil)
    }

    /// How a record is written: by its content type, else by its first byte.
    private static func of(_ bytes: [UInt8], contentType: String?) -> RecordEncoding {
        contentType.flatMap(RecordEncoding.init(contentType:)) ?? (bytes.first == UInt8(ascii: "{") ? .json : .protobuf)
    }
}
