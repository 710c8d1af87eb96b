import TributaryModel

/// Decodes a log with whatever ABIs are known; the processor asks it once per log.
public protocol LogDecoding: Sendable {
    /// The decoded event, `nil` when no known ABI matches the log.
    ///
    /// - Throws: ``ProcessorError`` when an ABI matches but the log does not decode with it
    ///   (the processor then emits the event without a decoded part).
    func decode(address: String, topics: [String], data: String) throws -> Tributary_V1_DecodedEvent?
}

/// A decoder that knows no ABI: events pass through undecoded.
public struct NoLogDecoding: LogDecoding {
    /// Creates the decoder.
    public init() {}
    public func decode(address: String, topics: [String], data: String) throws -> Tributary_V1_DecodedEvent? { nil }
}
