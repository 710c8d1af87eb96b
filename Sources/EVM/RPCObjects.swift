/// A block header as `eth_getBlockByNumber` / `eth_getBlockByHash` / `newHeads` return it,
/// reduced to what an indexer needs.
public struct RPCBlockHeader: Sendable, Hashable {
    /// The block number.
    public var number: UInt64
    /// Lowercase 0x hash.
    public var hash: String
    /// Lowercase 0x hash of the parent.
    public var parentHash: String
    /// Seconds since 1970.
    public var timestamp: UInt64
    /// The 256-byte logs bloom.
    public var logsBloom: [UInt8]
    /// Transaction hashes (or the hashes of the full transactions), when the response had them.
    public var transactionHashes: [String]

    /// Creates a header.
    public init(
        number: UInt64, hash: String, parentHash: String, timestamp: UInt64, logsBloom: [UInt8],
        transactionHashes: [String] = []
    ) {
        self.number = number
        self.hash = hash
        self.parentHash = parentHash
        self.timestamp = timestamp
        self.logsBloom = logsBloom
        self.transactionHashes = transactionHashes
    }

    /// Whether the bloom says nothing was logged in the block.
    public var bloomIsEmpty: Bool { logsBloom.allSatisfy { $0 == 0 } }
}

/// A log as `eth_getLogs`, receipts and `logs` subscriptions return it.
public struct RPCLog: Sendable, Hashable {
    /// Lowercase 0x address of the emitting contract.
    public var address: String
    /// Lowercase 0x topics (0–4).
    public var topics: [String]
    /// Lowercase 0x data.
    public var data: String
    /// The block number.
    public var blockNumber: UInt64
    /// The block hash.
    public var blockHash: String
    /// The transaction hash.
    public var transactionHash: String
    /// The transaction's index in the block.
    public var transactionIndex: UInt32
    /// The block-wide log index.
    public var logIndex: UInt32
    /// True when the log was removed by a reorg (subscriptions, filters).
    public var removed: Bool

    /// Creates a log.
    public init(
        address: String, topics: [String], data: String, blockNumber: UInt64, blockHash: String,
        transactionHash: String, transactionIndex: UInt32, logIndex: UInt32, removed: Bool = false
    ) {
        self.address = address
        self.topics = topics
        self.data = data
        self.blockNumber = blockNumber
        self.blockHash = blockHash
        self.transactionHash = transactionHash
        self.transactionIndex = transactionIndex
        self.logIndex = logIndex
        self.removed = removed
    }
}

/// A transaction receipt, reduced to what an indexer needs.
public struct RPCReceipt: Sendable, Hashable {
    /// The transaction hash.
    public var transactionHash: String
    /// The transaction's index in the block.
    public var transactionIndex: UInt32
    /// The block hash.
    public var blockHash: String
    /// The block number.
    public var blockNumber: UInt64
    /// 1 for success, 0 for failure; `nil` for pre-Byzantium receipts.
    public var status: UInt64?
    /// The receipt's logs.
    public var logs: [RPCLog]
    /// The receipt's 256-byte bloom.
    public var logsBloom: [UInt8]
}
