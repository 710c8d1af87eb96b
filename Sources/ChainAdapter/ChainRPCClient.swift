import EVM
import Foundation

/// The typed JSON-RPC calls the adapter makes, over an ``EndpointPool``.
public struct ChainRPCClient: Sendable {
    /// A block to ask for.
    public enum BlockTag: Sendable, Hashable {
        case number(UInt64)
        case latest, safe, finalized

        var parameter: String {
            switch self {
            case .number(let number): "0x" + String(number, radix: 16)
            case .latest: "latest"
            case .safe: "safe"
            case .finalized: "finalized"
            }
        }
    }

    /// The endpoints.
    public let pool: EndpointPool

    /// Creates a client over `pool`.
    public init(pool: EndpointPool) {
        self.pool = pool
    }

    /// `eth_chainId`.
    public func chainID() async throws -> UInt64 {
        try await pool.call("eth_chainId", []) { try Self.quantity($0, "eth_chainId") }
    }

    /// `eth_blockNumber`.
    public func blockNumber() async throws -> UInt64 {
        try await pool.call("eth_blockNumber", []) { try Self.quantity($0, "eth_blockNumber") }
    }

    /// `eth_getBlockByNumber` without transactions; `nil` when the node has no such block.
    public func header(_ tag: BlockTag) async throws -> RPCBlockHeader? {
        try await pool.call("eth_getBlockByNumber", [tag.parameter, false]) {
            guard case .number(let number) = tag else { return try Self.optionalHeader($0) }
            return try Self.optionalHeader($0, number: number)
        }
    }

    /// `eth_getBlockByHash` without transactions; `nil` when the node does not know the hash.
    public func header(hash: String) async throws -> RPCBlockHeader? {
        try await pool.call("eth_getBlockByHash", [hash, false]) {
            let header = try Self.optionalHeader($0)
            if let header, header.hash != hash.lowercased() {
                throw ChainAdapterError(.malformedResponse, "asked for block \(hash), got block \(header.hash)")
            }
            return header
        }
    }

    /// Headers of several blocks, in the order asked, in batched requests of at most 100 (providers
    /// cap batch sizes). A header for another number than asked is a malformed answer.
    public func headers(_ numbers: [UInt64]) async throws -> [RPCBlockHeader?] {
        var headers: [RPCBlockHeader?] = []
        for start in stride(from: 0, to: numbers.count, by: 100) {
            let chunk = Array(numbers[start..<min(numbers.count, start + 100)])
            headers += try await pool.batch(
                chunk.map { ("eth_getBlockByNumber", [BlockTag.number($0).parameter, false]) }
            ) {
                try zip(chunk, $0).map { number, result in try Self.optionalHeader(result.get(), number: number) }
            }
        }
        return headers
    }

    /// `eth_getLogs` over `from...to`, optionally for some addresses and topics.
    ///
    /// - Throws: ``ChainAdapterError`` `.tooManyResults` (with the provider's suggested range when
    ///   given) or `.rangeTooLarge` for the caller to split the range.
    public func logs(
        from: UInt64, to: UInt64, addresses: [String] = [], topics: [[String]?] = []
    ) async throws
        -> [RPCLog]
    {
        var filter: [String: Any] = [
            "fromBlock": BlockTag.number(from).parameter, "toBlock": BlockTag.number(to).parameter,
        ]
        if !addresses.isEmpty { filter["address"] = addresses }
        if !topics.isEmpty { filter["topics"] = topics.map { $0 as Any? ?? NSNull() } }
        return try await pool.call("eth_getLogs", [filter]) { try Self.logs($0, inRange: from...to) }
    }

    /// `eth_getLogs` for one block by hash.
    public func logs(blockHash: String) async throws -> [RPCLog] {
        try await pool.call("eth_getLogs", [["blockHash": blockHash]]) { try Self.logs($0, ofBlock: blockHash) }
    }

    /// The header of block `number` and the logs of block `hash`, in one batched request to one
    /// endpoint; `nil` unless that node's block `number` is `hash` (it does not have it yet, or
    /// holds another branch).
    public func blockWithLogs(number: UInt64, hash: String) async throws -> (header: RPCBlockHeader, logs: [RPCLog])? {
        let calls: [(method: String, params: [Any])] = [
            ("eth_getBlockByNumber", [BlockTag.number(number).parameter, false]),
            ("eth_getLogs", [["blockHash": hash]]),
        ]
        return try await pool.batch(calls) { results in
            guard let header = try Self.optionalHeader(results[0].get(), number: number),
                header.hash == hash.lowercased()
            else { return nil }
            return (header, try Self.logs(results[1].get(), ofBlock: hash))
        }
    }

    private static func logs(_ result: Any, ofBlock blockHash: String) throws -> [RPCLog] {
        let logs = try Self.logs(result, inRange: nil)
        if let stray = logs.first(where: { $0.blockHash != blockHash.lowercased() }) {
            throw ChainAdapterError(
                .malformedResponse, "eth_getLogs by blockHash returned a log of block \(stray.blockHash)")
        }
        return logs
    }

    private static func quantity(_ result: Any, _ method: String) throws -> UInt64 {
        guard let text = result as? String else {
            throw ChainAdapterError(.malformedResponse, "\(method): expected a hex quantity")
        }
        do { return try RPCDecoding.quantity(text, method) } catch {
            throw ChainAdapterError(.malformedResponse, "\(error)")
        }
    }

    /// The header of block `number`, or `nil`; a header of another block is a malformed answer.
    private static func optionalHeader(_ result: Any, number: UInt64) throws -> RPCBlockHeader? {
        let header = try optionalHeader(result)
        if let header, header.number != number {
            throw ChainAdapterError(.malformedResponse, "asked for block \(number), got block \(header.number)")
        }
        return header
    }

    private static func optionalHeader(_ result: Any) throws -> RPCBlockHeader? {
        if result is NSNull { return nil }
        do { return try RPCDecoding.blockHeader(result) } catch {
            throw ChainAdapterError(.malformedResponse, (error as? EVMError)?.reason ?? "\(error)")
        }
    }

    private static func logs(_ result: Any, inRange range: ClosedRange<UInt64>?) throws -> [RPCLog] {
        let logs: [RPCLog]
        do { logs = try RPCDecoding.logs(result) } catch {
            throw ChainAdapterError(.malformedResponse, (error as? EVMError)?.reason ?? "\(error)")
        }
        if let range, let stray = logs.first(where: { !range.contains($0.blockNumber) }) {
            throw ChainAdapterError(
                .malformedResponse, "eth_getLogs for blocks \(range) returned a log of block \(stray.blockNumber)")
        }
        return logs
    }
}
