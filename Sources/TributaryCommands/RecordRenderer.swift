import EventLog
import Foundation
import TributaryModel

/// Turns log records into JSON lines for `tributary tail` and parses JSON lines for
/// `tributary produce`.
///
/// Values of standard topics are decoded from either encoding into proto3-JSON; other values
/// are shown as JSON when they are JSON, as a string when they are UTF-8 text, and as
/// `{"base64": …}` otherwise. Keys and header values are strings, or `{"base64": …}`.
struct RecordRenderer: Sendable {
    /// One record as a single-line JSON object: topic, partition, offset, timestamp, key, headers, value.
    func jsonLine(_ record: LogRecord) -> String {
        var object: [String: Any] = [
            "topic": record.topic, "partition": record.partition, "offset": record.offset,
            "timestamp": record.timestampMilliseconds,
        ]
        object["key"] = record.key.map(Self.textOrBase64) ?? NSNull()
        var headers: [String: Any] = [:]
        for header in record.headers { headers[header.name] = Self.textOrBase64(header.value) }
        object["headers"] = headers
        object["value"] =
            record.value.map { decodedValue($0, topic: record.topic, headers: record.headers) } ?? NSNull()
        let data =
            (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]))
            ?? Data()
        return String(decoding: data, as: UTF8.self)
    }

    /// A short human line: `topic[partition]@offset key=… value`.
    func humanLine(_ record: LogRecord) -> String {
        let key = record.key.map { String(decoding: $0, as: UTF8.self) } ?? "-"
        let value: String
        if let bytes = record.value {
            let decoded = decodedValue(bytes, topic: record.topic, headers: record.headers)
            if let text = decoded as? String {
                value = text
            } else {
                let data =
                    (try? JSONSerialization.data(
                        withJSONObject: decoded, options: [.sortedKeys, .withoutEscapingSlashes, .fragmentsAllowed]))
                    ?? Data()
                value = String(decoding: data, as: UTF8.self)
            }
        } else {
            value = "<tombstone>"
        }
        return "\(record.topic)[\(record.partition)]@\(record.offset) key=\(key) \(value)"
    }

    private func decodedValue(_ bytes: [UInt8], topic: String, headers: [RecordHeader]) -> Any {
        let contentType = headers.last(named: RecordEncoding.headerName).map { String(decoding: $0, as: UTF8.self) }
        if let json = StandardTopic.named(topic)?.canonicalJSON(of: bytes, contentType: contentType),
            let object = try? JSONSerialization.jsonObject(with: Data(json))
        {
            return object
        }
        if let object = try? JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed]) {
            return object
        }
        return Self.textOrBase64(bytes)
    }

    private static func textOrBase64(_ bytes: [UInt8]) -> Any {
        if let text = String(validating: bytes, as: UTF8.self) { return text }
        return ["base64": Data(bytes).base64EncodedString()]
    }

    /// Parses one `produce` input line into a record.
    ///
    /// A line is either an envelope — an object with `value` and optionally `key`, `headers`
    /// (object of strings) and `partition` — or, for anything else, the value itself. A JSON
    /// `null` value is a tombstone. Values for standard topics must parse as the topic's message
    /// type and are written in `encoding`; other values are written as compact JSON.
    ///
    /// - Throws: ``CommandError`` `.invalidInput` saying what is wrong with the line.
    func parseLine(_ line: String, topic: String, encoding: RecordEncoding) throws -> OutgoingRecord {
        guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8), options: [.fragmentsAllowed]) else {
            throw CommandError(.invalidInput, "not valid JSON")
        }
        var record = OutgoingRecord(topic: topic, key: nil, value: nil)
        let value: Any
        let envelopeKeys: Set<String> = ["key", "value", "headers", "partition"]
        if let dictionary = object as? [String: Any], dictionary["value"] != nil,
            Set(dictionary.keys).isSubset(of: envelopeKeys)
        {
            value = dictionary["value"]!
            if let key = dictionary["key"], !(key is NSNull) {
                guard let text = key as? String else { throw CommandError(.invalidInput, "\"key\" must be a string") }
                record.key = Array(text.utf8)
            }
            if let headers = dictionary["headers"] {
                guard let headers = headers as? [String: String] else {
                    throw CommandError(.invalidInput, "\"headers\" must be an object of strings")
                }
                record.headers = headers.sorted(by: { $0.key < $1.key }).map {
                    RecordHeader(name: $0.key, text: $0.value)
                }
            }
            if let partition = dictionary["partition"] {
                guard let number = partition as? Int else {
                    throw CommandError(.invalidInput, "\"partition\" must be an integer")
                }
                record.partition = number
            }
        } else {
            value = object
        }
        guard !(value is NSNull) else { return record }  // tombstone
        let valueData = try JSONSerialization.data(
            withJSONObject: value, options: [.fragmentsAllowed, .withoutEscapingSlashes])
        if let standard = StandardTopic.named(topic), standard.messageType != nil {
            do {
                record.value = try standard.encodeJSONValue(Array(valueData), as: encoding)
            } catch {
                throw CommandError(.invalidInput, "\(error)")
            }
            record.headers.append(RecordHeader(name: RecordEncoding.headerName, text: encoding.contentType))
        } else {
            record.value = Array(valueData)
        }
        return record
    }
}
