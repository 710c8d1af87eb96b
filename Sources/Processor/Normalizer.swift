import TributaryModel

/// Turns one raw block record into canonical events: one per log, ids
/// `<chain>:<blockHash>:<logIndex>`, hex lowercased, status and retraction carried through,
/// decoded where an ABI matches.
///
/// A record whose block or any log is malformed is rejected as a whole (it goes to the dead
/// letter topic): emitting part of a block would leave consumers with a block that silently
/// misses logs. A log that matches an ABI but does not decode with it is emitted undecoded and
/// counted, so nothing is lost.
public struct Normalizer: Sendable {
    /// What normalizing one record produced.
    public struct Outcome: Sendable {
        /// The canonical events, in log order.
        public var events: [Tributary_V1_CanonicalEvent]
        /// Logs that matched an ABI but did not decode, with the reason.
        public var decodeFailures: [(logIndex: UInt32, reason: String)]
    }

    private let decoder: any LogDecoding

    /// Creates a normalizer that decodes with `decoder`.
    public init(decoder: any LogDecoding) {
        self.decoder = decoder
    }

    /// Normalizes `record`.
    ///
    /// - Throws: ``ProcessorError`` `.invalidRecord` naming the field and the log index.
    public func normalize(_ record: Tributary_V1_RawBlockRecord) throws -> Outcome {
        guard record.hasBlock else { throw invalid("the record has no block") }
        let block = record.block
        do {
            try EventIdentity.validateChainID(block.chainID)
        } catch {
            throw invalid("block.chainId: \(error)")
        }
        let blockHash = try Self.hex(block.hash, bytes: 32, field: "block.hash")
        let parentHash = try Self.hex(
            block.parentHash, bytes: 32, field: "block.parentHash", allowEmpty: block.number == 0)
        let status = Self.status(of: record)
        var seenIndexes = Set<UInt32>()
        var events: [Tributary_V1_CanonicalEvent] = []
        events.reserveCapacity(record.logs.count)
        var failures: [(logIndex: UInt32, reason: String)] = []
        for log in record.logs {
            let where_ = "log \(log.logIndex)"
            guard seenIndexes.insert(log.logIndex).inserted else {
                throw invalid("\(where_): logIndex appears twice in block \(blockHash)")
            }
            guard log.topics.count <= 4 else { throw invalid("\(where_): \(log.topics.count) topics (at most 4)") }
            var event = Tributary_V1_CanonicalEvent()
            event.chainID = block.chainID
            event.blockNumber = block.number
            event.blockHash = blockHash
            event.parentHash = parentHash
            event.blockTimestamp = block.timestamp
            event.transactionHash = try Self.hex(log.transactionHash, bytes: 32, field: "\(where_).transactionHash")
            event.transactionIndex = log.transactionIndex
            event.logIndex = log.logIndex
            event.address = try Self.hex(log.address, bytes: 20, field: "\(where_).address")
            event.topics = try log.topics.enumerated().map { index, topic in
                try Self.hex(topic, bytes: 32, field: "\(where_).topics[\(index)]")
            }
            event.data = try Self.hex(log.data, bytes: nil, field: "\(where_).data")
            event.status = status
            event.removed = record.removed
            event.id = EventIdentity.eventID(chainID: block.chainID, blockHash: blockHash, logIndex: log.logIndex)
            do {
                if let decoded = try decoder.decode(address: event.address, topics: event.topics, data: event.data) {
                    event.decoded = decoded
                }
            } catch {
                failures.append((log.logIndex, "\(error)"))
            }
            events.append(event)
        }
        return Outcome(events: events, decodeFailures: failures)
    }

    /// The status `record`'s events get: its own, `pending` when unspecified.
    static func status(of record: Tributary_V1_RawBlockRecord) -> Tributary_V1_FinalityStatus {
        record.status == .unspecified ? .pending : record.status
    }

    /// Checks `0x`-prefixed hex of `bytes` bytes (any even length when `nil`) and lowercases it.
    static func hex(_ text: String, bytes: Int?, field: String, allowEmpty: Bool = false) throws -> String {
        if allowEmpty && text.isEmpty { return text }
        let utf8 = text.utf8
        guard utf8.count >= 2, utf8.starts(with: "0x".utf8) || utf8.starts(with: "0X".utf8) else {
            throw ProcessorError(.invalidRecord, "\(field): expected 0x-prefixed hex, got '\(text.prefix(80))'")
        }
        let digits = utf8.count - 2
        if let bytes, digits != bytes * 2 {
            throw ProcessorError(.invalidRecord, "\(field): expected \(bytes) bytes of hex, got \(digits) hex digits")
        }
        guard digits % 2 == 0 else {
            throw ProcessorError(.invalidRecord, "\(field): odd number of hex digits")
        }
        var lowered = false
        for byte in utf8.dropFirst(2) {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "a")...UInt8(ascii: "f"): continue
            case UInt8(ascii: "A")...UInt8(ascii: "F"): lowered = true
            default:
                throw ProcessorError(
                    .invalidRecord, "\(field): '\(Character(Unicode.Scalar(byte)))' is not a hex digit")
            }
        }
        if !lowered && utf8.starts(with: "0x".utf8) { return text }
        return "0x" + String(text.dropFirst(2)).lowercased()
    }

    private func invalid(_ reason: String) -> ProcessorError {
        ProcessorError(.invalidRecord, reason)
    }
}
