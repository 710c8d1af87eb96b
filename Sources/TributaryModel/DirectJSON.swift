import Foundation
import SwiftProtobuf

/// proto3-JSON of canonical events and invocation requests, written directly: byte for byte
/// what swift-protobuf's `jsonUTF8Bytes()` writes (a property test holds it to that), without its
/// generic visitor and per-field dynamic casts. These are the most encoded messages in
/// Tributary: the processor writes every event, the router an invocation carrying one for every
/// match, and the wasm host puts one in every function input.
///
/// Argument values that are numbers or structs (never produced by the ABI decoder, which writes
/// integers as decimal strings), unrecognized enum values and direct invocations' raw input go
/// through swift-protobuf instead.
public enum DirectJSON {
    /// The invocation request's proto3-JSON; `eventJSON`, when given, is the event's proto3-JSON
    /// (as a compact canonical-events record carries it) and is written as it is.
    ///
    /// - Throws: what swift-protobuf throws for the requests it encodes (see above).
    public static func encode(_ request: Tributary_V1_InvocationRequest, eventJSON: [UInt8]? = nil) throws -> [UInt8] {
        let eventJSON = request.hasEvent ? eventJSON : nil
        guard request.input.isEmpty, !request.hasEvent || eventJSON != nil || isDirectlyEncodable(request.event) else {
            return try request.jsonUTF8Bytes()
        }
        var json: [UInt8] = []
        json.reserveCapacity(1_024 + (eventJSON?.count ?? request.event.data.utf8.count))
        var object = ObjectWriter()
        object.string("invocationId", request.invocationID, to: &json)
        object.string("functionName", request.functionName, to: &json)
        object.integer("functionVersion", request.functionVersion, to: &json)
        object.string("triggerId", request.triggerID, to: &json)
        if let eventJSON {
            object.key("event", to: &json)
            json += eventJSON
        } else if request.hasEvent {
            object.key("event", to: &json)
            append(request.event, to: &json)
        }
        object.integer("attempt", request.attempt, to: &json)
        if request.hasDeadline {
            object.key("deadline", to: &json)
            try appendTimestamp(request.deadline, to: &json)
        }
        object.close(to: &json)
        return json
    }

    /// The event's proto3-JSON.
    ///
    /// - Throws: what swift-protobuf throws for the events it encodes (see above).
    public static func encode(_ event: Tributary_V1_CanonicalEvent) throws -> [UInt8] {
        var json: [UInt8] = []
        json.reserveCapacity(512 + event.data.utf8.count + (event.hasDecoded ? 512 : 0))
        try appendEvent(event, to: &json)
        return json
    }

    /// Appends the event's proto3-JSON to `json` (the wasm host writes it into a function's
    /// input this way, without a buffer of its own); `json` is unchanged when it throws.
    ///
    /// - Throws: what swift-protobuf throws for the events it encodes (see above).
    public static func appendEvent(_ event: Tributary_V1_CanonicalEvent, to json: inout [UInt8]) throws {
        guard isDirectlyEncodable(event) else {
            json += try event.jsonUTF8Bytes()
            return
        }
        append(event, to: &json)
    }

    /// The invocation result's proto3-JSON.
    ///
    /// - Throws: what swift-protobuf throws for the results it encodes (unrecognized statuses).
    public static func encode(_ result: Tributary_V1_InvocationResult) throws -> [UInt8] {
        guard let status = statusName(result.status) else { return try result.jsonUTF8Bytes() }
        var json: [UInt8] = []
        json.reserveCapacity(512 + result.output.count * 4 / 3 + result.error.utf8.count)
        var object = ObjectWriter()
        object.string("invocationId", result.invocationID, to: &json)
        object.string("functionName", result.functionName, to: &json)
        object.integer("functionVersion", result.functionVersion, to: &json)
        object.string("triggerId", result.triggerID, to: &json)
        object.string("eventId", result.eventID, to: &json)
        object.string("status", status, to: &json)
        if !result.output.isEmpty {
            object.key("output", to: &json)
            appendBase64(result.output, to: &json)
        }
        if !result.logs.isEmpty {
            object.key("logs", to: &json)
            appendArray(result.logs, to: &json) { line, json in
                var member = ObjectWriter()
                member.string("level", line.level, to: &json)
                member.string("message", line.message, to: &json)
                member.close(to: &json)
            }
        }
        if result.hasDuration {
            object.key("duration", to: &json)
            try appendDuration(result.duration, to: &json)
        }
        object.quotedInteger("fuelUsed", result.fuelUsed, to: &json)
        object.string("error", result.error, to: &json)
        object.integer("attempt", result.attempt, to: &json)
        if result.hasCompletedAt {
            object.key("completedAt", to: &json)
            try appendTimestamp(result.completedAt, to: &json)
        }
        object.close(to: &json)
        return json
    }

    /// Appends a duration as swift-protobuf writes it ("1.5s": seconds, then 3, 6 or 9 digits of
    /// fraction when there is one); negative and out-of-range durations go to swift-protobuf.
    static func appendDuration(_ duration: Google_Protobuf_Duration, to json: inout [UInt8]) throws {
        guard duration.seconds >= 0, duration.seconds <= 315_576_000_000, (0..<1_000_000_000).contains(duration.nanos)
        else {
            json += try duration.jsonUTF8Bytes() as [UInt8]
            return
        }
        json.append(UInt8(ascii: "\""))
        JSONText.appendDecimal(duration.seconds, to: &json)
        appendFraction(duration.nanos, to: &json)
        json += [UInt8(ascii: "s"), UInt8(ascii: "\"")]
    }

    /// Appends a timestamp as swift-protobuf writes it (RFC 3339 in UTC, "2026-11-25T10:00:00.5Z"
    /// with 3, 6 or 9 digits of fraction when there is one); times before 1970 or after 9999 go
    /// to swift-protobuf.
    static func appendTimestamp(_ timestamp: Google_Protobuf_Timestamp, to json: inout [UInt8]) throws {
        guard (0...253_402_300_799).contains(timestamp.seconds), (0..<1_000_000_000).contains(timestamp.nanos) else {
            json += try timestamp.jsonUTF8Bytes() as [UInt8]
            return
        }
        let days = timestamp.seconds / 86_400
        let secondOfDay = Int(timestamp.seconds % 86_400)
        // Days to a civil date (proleptic Gregorian), after Howard Hinnant's `civil_from_days`.
        let shifted = days + 719_468
        let era = shifted / 146_097
        let dayOfEra = shifted - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1_460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = Int(dayOfYear - (153 * monthIndex + 2) / 5 + 1)
        let month = Int(monthIndex < 10 ? monthIndex + 3 : monthIndex - 9)
        let year = Int(yearOfEra + era * 400 + (month <= 2 ? 1 : 0))
        json.append(UInt8(ascii: "\""))
        appendDigits(year, count: 4, to: &json)
        json.append(UInt8(ascii: "-"))
        appendDigits(month, count: 2, to: &json)
        json.append(UInt8(ascii: "-"))
        appendDigits(day, count: 2, to: &json)
        json.append(UInt8(ascii: "T"))
        appendDigits(secondOfDay / 3_600, count: 2, to: &json)
        json.append(UInt8(ascii: ":"))
        appendDigits(secondOfDay / 60 % 60, count: 2, to: &json)
        json.append(UInt8(ascii: ":"))
        appendDigits(secondOfDay % 60, count: 2, to: &json)
        appendFraction(timestamp.nanos, to: &json)
        json += [UInt8(ascii: "Z"), UInt8(ascii: "\"")]
    }

    /// Appends `bytes` as a quoted base64 string (standard alphabet, padded), as proto3-JSON
    /// writes `bytes` fields.
    static func appendBase64(_ bytes: Data, to json: inout [UInt8]) {
        // Written through pointers into space made at once: appending byte by byte checks the
        // array's capacity and uniqueness for every byte, and this runs for every result's output.
        let start = json.count
        let length = (bytes.count + 2) / 3 * 4
        json.append(contentsOf: repeatElement(UInt8(ascii: "\""), count: length + 2))
        json.withUnsafeMutableBufferPointer { output in
            bytes.withUnsafeBytes { (input: UnsafeRawBufferPointer) in
                base64Digits.withUnsafeBufferPointer { digits in
                    var index = 0
                    var at = start + 1
                    while index + 3 <= input.count {
                        let group =
                            UInt32(input[index]) << 16 | UInt32(input[index + 1]) << 8 | UInt32(input[index + 2])
                        output[at] = digits[Int(group >> 18)]
                        output[at + 1] = digits[Int(group >> 12 & 63)]
                        output[at + 2] = digits[Int(group >> 6 & 63)]
                        output[at + 3] = digits[Int(group & 63)]
                        index += 3
                        at += 4
                    }
                    let rest = input.count - index
                    if rest > 0 {
                        let group = UInt32(input[index]) << 16 | (rest == 2 ? UInt32(input[index + 1]) << 8 : 0)
                        output[at] = digits[Int(group >> 18)]
                        output[at + 1] = digits[Int(group >> 12 & 63)]
                        output[at + 2] = rest == 2 ? digits[Int(group >> 6 & 63)] : UInt8(ascii: "=")
                        output[at + 3] = UInt8(ascii: "=")
                    }
                }
            }
        }
    }

    private static let base64Digits = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    /// ".500", ".500001", ".500000001" or nothing: the fewest of 3, 6 or 9 digits that are exact.
    private static func appendFraction(_ nanos: Int32, to json: inout [UInt8]) {
        guard nanos != 0 else { return }
        json.append(UInt8(ascii: "."))
        if nanos % 1_000_000 == 0 {
            appendDigits(Int(nanos / 1_000_000), count: 3, to: &json)
        } else if nanos % 1_000 == 0 {
            appendDigits(Int(nanos / 1_000), count: 6, to: &json)
        } else {
            appendDigits(Int(nanos), count: 9, to: &json)
        }
    }

    /// `value` in decimal, zero-padded to `count` digits (`value` has at most that many).
    private static func appendDigits(_ value: Int, count: Int, to json: inout [UInt8]) {
        var divisor = 1
        for _ in 1..<count { divisor *= 10 }
        var rest = value
        while divisor > 0 {
            json.append(UInt8(ascii: "0") + UInt8(rest / divisor))
            rest %= divisor
            divisor /= 10
        }
    }

    /// Appends the event's proto3-JSON to `json`; the event must be directly encodable.
    static func append(_ event: Tributary_V1_CanonicalEvent, to json: inout [UInt8]) {
        var object = ObjectWriter()
        object.string("id", event.id, to: &json)
        object.string("chainId", event.chainID, to: &json)
        object.quotedInteger("blockNumber", event.blockNumber, to: &json)
        object.string("blockHash", event.blockHash, to: &json)
        object.string("parentHash", event.parentHash, to: &json)
        object.quotedInteger("blockTimestamp", event.blockTimestamp, to: &json)
        object.string("transactionHash", event.transactionHash, to: &json)
        object.integer("transactionIndex", event.transactionIndex, to: &json)
        object.integer("logIndex", event.logIndex, to: &json)
        object.string("address", event.address, to: &json)
        if !event.topics.isEmpty {
            object.key("topics", to: &json)
            appendArray(event.topics, to: &json) { appendString($0, to: &$1) }
        }
        object.string("data", event.data, to: &json)
        object.string("status", statusName(event.status) ?? "", to: &json)
        object.flag("removed", event.removed, to: &json)
        if event.hasDecoded {
            object.key("decoded", to: &json)
            append(event.decoded, to: &json)
        }
        object.close(to: &json)
    }

    private static func append(_ decoded: Tributary_V1_DecodedEvent, to json: inout [UInt8]) {
        var object = ObjectWriter()
        object.string("name", decoded.name, to: &json)
        object.string("signature", decoded.signature, to: &json)
        if !decoded.arguments.isEmpty {
            object.key("arguments", to: &json)
            appendArray(decoded.arguments, to: &json) { argument, json in
                var member = ObjectWriter()
                member.string("name", argument.name, to: &json)
                member.string("type", argument.type, to: &json)
                member.flag("indexed", argument.indexed, to: &json)
                if argument.hasValue {
                    member.key("value", to: &json)
                    append(argument.value, to: &json)
                }
                member.string("checksummed", argument.checksummed, to: &json)
                member.close(to: &json)
            }
        }
        object.string("abi", decoded.abi, to: &json)
        object.close(to: &json)
    }

    /// A value of the kinds ``isDirectlyEncodable(_:)`` accepts.
    private static func append(_ value: Google_Protobuf_Value, to json: inout [UInt8]) {
        switch value.kind {
        case .stringValue(let text): appendString(text, to: &json)
        case .boolValue(let flag): json.append(contentsOf: (flag ? "true" : "false").utf8)
        case .listValue(let list): appendArray(list.values, to: &json) { append($0, to: &$1) }
        case .nullValue, .numberValue, .structValue, nil: json.append(contentsOf: "null".utf8)
        }
    }

    private static func appendArray<Element>(
        _ elements: [Element], to json: inout [UInt8], _ appendElement: (Element, inout [UInt8]) -> Void
    ) {
        json.append(UInt8(ascii: "["))
        for (index, element) in elements.enumerated() {
            if index > 0 { json.append(UInt8(ascii: ",")) }
            appendElement(element, &json)
        }
        json.append(UInt8(ascii: "]"))
    }

    /// Whether every part of `event` is written here rather than by swift-protobuf.
    public static func isDirectlyEncodable(_ event: Tributary_V1_CanonicalEvent) -> Bool {
        guard statusName(event.status) != nil else { return false }
        guard event.hasDecoded else { return true }
        return event.decoded.arguments.allSatisfy { !$0.hasValue || isDirectlyEncodable($0.value) }
    }

    private static func isDirectlyEncodable(_ value: Google_Protobuf_Value) -> Bool {
        switch value.kind {
        case .stringValue, .boolValue, .nullValue: true
        case .listValue(let list): list.values.allSatisfy(isDirectlyEncodable)
        // Numbers: swift-protobuf's double formatting; structs: map order; no kind: its error.
        case .numberValue, .structValue, nil: false
        }
    }

    /// The enum value's proto name ("" for the default, which is not written), or nil when
    /// unrecognized.
    static func statusName(_ status: Tributary_V1_FinalityStatus) -> String? {
        switch status {
        case .unspecified: ""
        case .pending: "FINALITY_STATUS_PENDING"
        case .confirmed: "FINALITY_STATUS_CONFIRMED"
        case .finalized: "FINALITY_STATUS_FINALIZED"
        case .UNRECOGNIZED: nil
        }
    }

    /// The status's proto name ("" for the default, which is not written), or nil when
    /// unrecognized.
    private static func statusName(_ status: Tributary_V1_InvocationStatus) -> String? {
        switch status {
        case .unspecified: ""
        case .ok: "INVOCATION_STATUS_OK"
        case .trap: "INVOCATION_STATUS_TRAP"
        case .outOfFuel: "INVOCATION_STATUS_OUT_OF_FUEL"
        case .timeout: "INVOCATION_STATUS_TIMEOUT"
        case .memoryLimit: "INVOCATION_STATUS_MEMORY_LIMIT"
        case .outputTooLarge: "INVOCATION_STATUS_OUTPUT_TOO_LARGE"
        case .invalidModule: "INVOCATION_STATUS_INVALID_MODULE"
        case .abiError: "INVOCATION_STATUS_ABI_ERROR"
        case .UNRECOGNIZED: nil
        }
    }

    /// Writes the members of one object, skipping proto3 defaults as swift-protobuf does.
    private struct ObjectWriter {
        private var opened = false

        mutating func key(_ name: StaticString, to json: inout [UInt8]) {
            json.append(UInt8(ascii: opened ? "," : "{"))
            opened = true
            json.append(UInt8(ascii: "\""))
            name.withUTF8Buffer { json.append(contentsOf: $0) }
            json.append(UInt8(ascii: "\""))
            json.append(UInt8(ascii: ":"))
        }

        /// Booleans are written only when true.
        mutating func flag(_ name: StaticString, _ value: Bool, to json: inout [UInt8]) {
            guard value else { return }
            key(name, to: &json)
            json.append(contentsOf: "true".utf8)
        }

        mutating func string(_ name: StaticString, _ value: String, to json: inout [UInt8]) {
            guard !value.isEmpty else { return }
            key(name, to: &json)
            appendString(value, to: &json)
        }

        /// 64-bit integers are JSON strings in proto3-JSON.
        mutating func quotedInteger(_ name: StaticString, _ value: UInt64, to json: inout [UInt8]) {
            guard value != 0 else { return }
            key(name, to: &json)
            json.append(UInt8(ascii: "\""))
            JSONText.appendDecimal(value, to: &json)
            json.append(UInt8(ascii: "\""))
        }

        mutating func integer(_ name: StaticString, _ value: UInt32, to json: inout [UInt8]) {
            guard value != 0 else { return }
            key(name, to: &json)
            JSONText.appendDecimal(UInt64(value), to: &json)
        }

        mutating func close(to json: inout [UInt8]) {
            if !opened { json.append(UInt8(ascii: "{")) }
            json.append(UInt8(ascii: "}"))
        }
    }

    /// A quoted JSON string escaped exactly as swift-protobuf escapes: the short escapes for
    /// \b \t \n \f \r " and \\, `\u00XX` (uppercase hex) for other C0 controls and for
    /// U+007F–U+009F, everything else as UTF-8.
    static func appendString(_ text: String, to json: inout [UInt8]) {
        json.append(UInt8(ascii: "\""))
        JSONText.appendRuns(of: text, to: &json) { byte in
            byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") || byte == 0x7F || byte == 0xC2
        } escape: { bytes, index, json in
            let byte = bytes[index]
            switch byte {
            case 8: json += [UInt8(ascii: "\\"), UInt8(ascii: "b")]
            case 9: json += [UInt8(ascii: "\\"), UInt8(ascii: "t")]
            case 10: json += [UInt8(ascii: "\\"), UInt8(ascii: "n")]
            case 12: json += [UInt8(ascii: "\\"), UInt8(ascii: "f")]
            case 13: json += [UInt8(ascii: "\\"), UInt8(ascii: "r")]
            case UInt8(ascii: "\""): json += [UInt8(ascii: "\\"), UInt8(ascii: "\"")]
            case UInt8(ascii: "\\"): json += [UInt8(ascii: "\\"), UInt8(ascii: "\\")]
            case 0xC2:
                // A two-byte sequence: U+0080–U+009F is escaped, U+00A0–U+00BF written as it is.
                guard index + 1 < bytes.count, bytes[index + 1] <= 0x9F else {
                    json.append(0xC2)
                    return 1
                }
                appendUnicodeEscape(bytes[index + 1], to: &json)
                return 2
            default: appendUnicodeEscape(byte, to: &json)  // other C0 controls and DEL
            }
            return 1
        }
        json.append(UInt8(ascii: "\""))
    }

    private static func appendUnicodeEscape(_ value: UInt8, to json: inout [UInt8]) {
        json += [
            UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"),
            upperHexDigits[Int(value >> 4)], upperHexDigits[Int(value & 0xF)],
        ]
    }

    private static let upperHexDigits = Array("0123456789ABCDEF".utf8)
}
