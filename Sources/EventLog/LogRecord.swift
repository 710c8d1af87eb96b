import Foundation

/// A named byte value carried alongside a record, as in Kafka record headers.
public struct RecordHeader: Sendable, Hashable {
    /// The header name, for example `content-type`.
    public var name: String
    /// The header value bytes.
    public var value: [UInt8]

    /// Creates a header from raw bytes.
    public init(name: String, value: [UInt8]) {
        self.name = name
        self.value = value
    }

    /// Creates a header whose value is UTF-8 text.
    public init(name: String, text: String) {
        self.init(name: name, value: Array(text.utf8))
    }

    /// The value decoded as UTF-8, or `nil` when it is not valid UTF-8.
    public var text: String? { String(validating: value, as: UTF8.self) }
}

extension Array where Element == RecordHeader {
    /// The value of the last header named `name`, as Kafka's `header_get_last` does.
    public func last(named name: String) -> [UInt8]? {
        last(where: { $0.name == name })?.value
    }
}

/// A record to append to a topic.
public struct OutgoingRecord: Sendable, Hashable {
    /// The topic to append to.
    public var topic: String
    /// The key: records with equal keys land on the same partition, in order. `nil` spreads records randomly.
    public var key: [UInt8]?
    /// The value; `nil` is a tombstone, which deletes the key from a compacted topic.
    public var value: [UInt8]?
    /// Headers, in order.
    public var headers: [RecordHeader]
    /// An explicit partition that overrides the partitioner. Default: `nil` (partition by key).
    public var partition: Int?

    /// Creates a record.
    public init(
        topic: String, key: [UInt8]?, value: [UInt8]?, headers: [RecordHeader] = [], partition: Int? = nil
    ) {
        self.topic = topic
        self.key = key
        self.value = value
        self.headers = headers
        self.partition = partition
    }

    /// Creates a record with a UTF-8 key.
    public init(topic: String, key: String, value: [UInt8]?, headers: [RecordHeader] = []) {
        self.init(topic: topic, key: Array(key.utf8), value: value, headers: headers)
    }
}

/// A record read from a topic.
public struct LogRecord: Sendable, Hashable {
    /// The topic it was read from.
    public var topic: String
    /// Its partition.
    public var partition: Int
    /// Its offset within the partition.
    public var offset: Int64
    /// Its key, if any.
    public var key: [UInt8]?
    /// Its value; `nil` for a tombstone.
    public var value: [UInt8]?
    /// Its headers, in order.
    public var headers: [RecordHeader]
    /// When the log accepted it, in milliseconds since 1970.
    public var timestampMilliseconds: Int64

    /// Creates a record as read from the log.
    public init(
        topic: String, partition: Int, offset: Int64, key: [UInt8]?, value: [UInt8]?,
        headers: [RecordHeader], timestampMilliseconds: Int64
    ) {
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.key = key
        self.value = value
        self.headers = headers
        self.timestampMilliseconds = timestampMilliseconds
    }

    /// The topic and partition the record belongs to.
    public var topicPartition: TopicPartition { TopicPartition(topic: topic, partition: partition) }
    /// The position the record was stored at.
    public var position: RecordPosition { RecordPosition(topic: topic, partition: partition, offset: offset) }
    /// The value's encoding as its `content-type` header names it (`RecordEncoding` in
    /// TributaryModel reads it), if it has one.
    public var contentType: String? {
        guard let value = headers.last(named: "content-type") else { return nil }
        // The values Tributary writes come back as constants: making the string allocates, and
        // every role reads this header on every record.
        if value.elementsEqual("application/json".utf8) { return "application/json" }
        if value.elementsEqual("application/x-protobuf".utf8) { return "application/x-protobuf" }
        return String(validating: value, as: UTF8.self)
    }
}

/// One partition of one topic.
public struct TopicPartition: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// The topic name.
    public var topic: String
    /// The partition number, from 0.
    public var partition: Int

    /// Creates a topic partition.
    public init(topic: String, partition: Int) {
        self.topic = topic
        self.partition = partition
    }

    public static func < (lhs: TopicPartition, rhs: TopicPartition) -> Bool {
        (lhs.topic, lhs.partition) < (rhs.topic, rhs.partition)
    }

    public var description: String { "\(topic)[\(partition)]" }
}

/// Where an appended record was stored.
public struct RecordPosition: Sendable, Hashable, CustomStringConvertible {
    /// The topic.
    public var topic: String
    /// The partition.
    public var partition: Int
    /// The offset within the partition.
    public var offset: Int64

    /// Creates a position.
    public init(topic: String, partition: Int, offset: Int64) {
        self.topic = topic
        self.partition = partition
        self.offset = offset
    }

    public var description: String { "\(topic)[\(partition)]@\(offset)" }
}

/// Where a reader starts in a partition.
public enum LogPosition: Sendable, Hashable {
    /// The oldest retained record.
    case earliest
    /// The end of the partition when the reader is created: only records appended afterwards.
    case latest
    /// This offset: the next record read is the one at `offset` (or the oldest retained one after it).
    case offset(Int64)
}

/// What a topic holds: per partition, the first retained offset and the end offset (the next offset to be written).
public struct TopicDescription: Sendable, Hashable {
    /// The topic name.
    public var name: String
    /// Its partitions, ordered by number.
    public var partitions: [PartitionDescription]

    /// Creates a description.
    public init(name: String, partitions: [PartitionDescription]) {
        self.name = name
        self.partitions = partitions
    }
}

/// The offsets of one partition.
public struct PartitionDescription: Sendable, Hashable {
    /// The partition number.
    public var partition: Int
    /// The oldest retained offset.
    public var startOffset: Int64
    /// The offset the next appended record will get.
    public var endOffset: Int64

    /// Creates a description.
    public init(partition: Int, startOffset: Int64, endOffset: Int64) {
        self.partition = partition
        self.startOffset = startOffset
        self.endOffset = endOffset
    }
}
