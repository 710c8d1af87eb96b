import EVM
import Logging
import Metrics
import TributaryModel

/// Backfills a block range with `eth_getLogs`: adaptive range sizes (``BackfillRangePlanner``),
/// bounded parallel requests, every block's header fetched in batches to check the logs against
/// its bloom, and raw block records handed on strictly in block order.
///
/// Completeness: a block whose bloom says it has logs but got none, or whose logs are not all in
/// its bloom, is fetched again by block hash (from whichever endpoint the pool picks) and counted
/// in `tributary_adapter_refetched_blocks_total`.
public struct Backfiller: Sendable {
    /// Settings of a backfill.
    public struct Configuration: Sendable {
        /// The first `eth_getLogs` range size, in blocks. Default: 500.
        public var initialRange: UInt64
        /// The largest range size. Default: 10,000.
        public var maximumRange: UInt64
        /// Parallel `eth_getLogs` requests. Default: 4.
        public var maximumInFlight: Int
        /// Headers per batched request. Default: 100.
        public var headerBatchSize: Int

        /// Creates a configuration; every parameter defaults as documented on its property.
        public init(
            initialRange: UInt64 = 500, maximumRange: UInt64 = 10_000, maximumInFlight: Int = 4,
            headerBatchSize: Int = 100
        ) {
            self.initialRange = initialRange
            self.maximumRange = maximumRange
            self.maximumInFlight = maximumInFlight
            self.headerBatchSize = headerBatchSize
        }
    }

    private let client: ChainRPCClient
    private let chainID: String
    private let configuration: Configuration
    private let logger: Logger

    /// Creates a backfiller for `chainID` (CAIP-2) over `client`.
    public init(
        client: ChainRPCClient, chainID: String, configuration: Configuration = Configuration(),
        logger: Logger = Logger(label: "tributary.adapter.backfill")
    ) {
        self.client = client
        self.chainID = chainID
        self.configuration = configuration
        self.logger = logger
    }

    /// Backfills `range`, handing each completed run of blocks (blocks with logs only) to `emit`
    /// in block order; `status` gives each block's finality status.
    public func run(
        _ range: ClosedRange<UInt64>, status: @escaping @Sendable (UInt64) -> Tributary_V1_FinalityStatus,
        emit: ([Tributary_V1_RawBlockRecord]) async throws -> Void
    ) async throws {
        var planner = BackfillRangePlanner(
            first: range.lowerBound, last: range.upperBound, initialRange: configuration.initialRange,
            maximumRange: configuration.maximumRange, maximumInFlight: configuration.maximumInFlight)
        var finished: [UInt64: BackfillRangePlanner.Completed<[Tributary_V1_RawBlockRecord]>] = [:]
        var failures: [UInt64: Int] = [:]
        try await withThrowingTaskGroup(
            of: (ClosedRange<UInt64>, Result<[Tributary_V1_RawBlockRecord], ChainAdapterError>).self
        ) { group in
            var running = 0
            while !planner.isFinished {
                while let next = planner.nextRange() {
                    running += 1
                    group.addTask { (next, await fetch(next, status: status)) }
                }
                guard running > 0, let (done, result) = try await group.next() else { break }
                running -= 1
                switch result {
                case .success(let records):
                    planner.succeeded(done)
                    finished[done.lowerBound] = .init(range: done, payload: records)
                    Counter(label: "tributary_adapter_backfilled_blocks_total", dimensions: [("chain", chainID)])
                        .increment(by: Int(done.upperBound - done.lowerBound + 1))
                case .failure(let error):
                    switch error.code {
                    case .tooManyResults: planner.failed(done, .tooManyResults(suggested: error.suggestedRange))
                    case .rangeTooLarge:
                        planner.failed(done, .rangeTooLarge(limit: JSONRPCResponseParser.rangeLimit(in: error.reason)))
                    case _ where error.isTransient:
                        // The pool has already tried other endpoints: pause, and give up in the end
                        // (the adapter then starts again from the log, after a longer pause).
                        let count = failures[done.lowerBound, default: 0] + 1
                        failures[done.lowerBound] = count
                        guard count < 10 else { throw error }
                        logger.warning(
                            "backfill range failed; retrying", metadata: ["range": "\(done)", "reason": "\(error)"])
                        try await Task.sleep(for: .milliseconds(100 * count))
                        planner.failed(done, .transient)
                    default: throw error
                    }
                }
                for completed in planner.release(&finished) where !completed.payload.isEmpty {
                    try await emit(completed.payload)
                }
            }
        }
    }

    /// The raw records of the blocks in `range` that have logs, checked against their blooms.
    private func fetch(
        _ range: ClosedRange<UInt64>, status: @Sendable (UInt64) -> Tributary_V1_FinalityStatus
    ) async -> Result<[Tributary_V1_RawBlockRecord], ChainAdapterError> {
        do {
            // The logs and the headers (for the bloom checks) are asked for at once.
            async let fetchedLogs = client.logs(from: range.lowerBound, to: range.upperBound)
            let headers = try await headers(range)
            var logs = Dictionary(grouping: try await fetchedLogs) { $0.blockNumber }
            var records: [Tributary_V1_RawBlockRecord] = []
            for header in headers {
                let blockLogs = try await Self.checked(
                    logs.removeValue(forKey: header.number) ?? [], of: header, client: client, chainID: chainID)
                guard !blockLogs.isEmpty else { continue }
                records.append(
                    RawBlockRecords.make(
                        chainID: chainID, header: header, logs: blockLogs, status: status(header.number)))
            }
            return .success(records)
        } catch let error as ChainAdapterError {
            return .failure(error)
        } catch {
            return .failure(ChainAdapterError(.malformedResponse, "\(error)"))
        }
    }

    /// The headers of `range` in order, in concurrent batches.
    private func headers(_ range: ClosedRange<UInt64>) async throws -> [RPCBlockHeader] {
        let size = UInt64(configuration.headerBatchSize)
        let starts = Array(stride(from: range.lowerBound, through: range.upperBound, by: Int(size)))
        let batches = try await withThrowingTaskGroup(of: (UInt64, [RPCBlockHeader]).self) { group in
            var batches: [UInt64: [RPCBlockHeader]] = [:]
            for (index, start) in starts.enumerated() {
                if index >= 4, let (done, headers) = try await group.next() { batches[done] = headers }  // 4 in flight
                group.addTask {
                    let numbers = Array(start...min(range.upperBound, start + size - 1))
                    let headers = try await client.headers(numbers).enumerated().map { index, header in
                        guard let header else {
                            throw ChainAdapterError(
                                .malformedResponse, "block \(numbers[index]) is missing from the node")
                        }
                        return header
                    }
                    return (start, headers)
                }
            }
            for try await (done, headers) in group { batches[done] = headers }
            return batches
        }
        let headers = starts.flatMap { batches[$0] ?? [] }
        for (parent, child) in zip(headers, headers.dropFirst()) where child.parentHash != parent.hash {
            // The chain moved under the request (a reorg), or an endpoint mixed up branches.
            throw ChainAdapterError(
                .malformedResponse,
                "block \(child.number) does not link to block \(parent.number): the range is fetched again")
        }
        return headers
    }

    /// `logs` when they are plausibly all of `header`'s logs; else the block's logs fetched again
    /// by hash (counted in `tributary_adapter_refetched_blocks_total`), which must then be.
    ///
    /// - Throws: ``ChainAdapterError`` `.malformedResponse` when the refetched logs still disagree
    ///   with the bloom.
    static func checked(
        _ logs: [RPCLog], of header: RPCBlockHeader, client: ChainRPCClient, chainID: String
    )
        async throws -> [RPCLog]
    {
        if try complete(logs, header: header) { return logs }
        Counter(label: "tributary_adapter_refetched_blocks_total", dimensions: [("chain", chainID)]).increment()
        let refetched = try await client.logs(blockHash: header.hash)
        guard try complete(refetched, header: header) else {
            throw ChainAdapterError(
                .malformedResponse, "block \(header.number): logs disagree with its bloom even after a refetch")
        }
        return refetched
    }

    /// Whether `logs` are all of the block's logs: all of this block, no log index twice, and
    /// their bloom exactly the block's (a missing log almost surely leaves a bit unset).
    static func complete(_ logs: [RPCLog], header: RPCBlockHeader) throws -> Bool {
        if logs.isEmpty { return header.bloomIsEmpty }
        guard logs.allSatisfy({ $0.blockHash == header.hash }), Set(logs.map(\.logIndex)).count == logs.count else {
            return false
        }
        return try LogsBloom.of(logs) == header.logsBloom
    }
}

/// Builds the raw records the adapter produces to `raw-events`.
public enum RawBlockRecords {
    /// The record of one block and its logs.
    public static func make(
        chainID: String, header: RPCBlockHeader, logs: [RPCLog], status: Tributary_V1_FinalityStatus,
        removed: Bool = false
    ) -> Tributary_V1_RawBlockRecord {
        var record = Tributary_V1_RawBlockRecord()
        record.block.chainID = chainID
        record.block.number = header.number
        record.block.hash = header.hash
        record.block.parentHash = header.parentHash
        record.block.timestamp = header.timestamp
        record.block.logsBloom = Hex.encode(header.logsBloom)
        record.block.transactionCount = UInt32(header.transactionHashes.count)
        record.status = status
        record.removed = removed
        record.logs = logs.sorted { $0.logIndex < $1.logIndex }.map { log in
            var raw = Tributary_V1_RawLog()
            raw.address = log.address
            raw.topics = log.topics
            raw.data = log.data
            raw.logIndex = log.logIndex
            raw.transactionHash = log.transactionHash
            raw.transactionIndex = log.transactionIndex
            return raw
        }
        return record
    }
}
