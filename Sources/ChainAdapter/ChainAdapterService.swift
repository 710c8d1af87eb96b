import EVM
import EventLog
import Logging
import Metrics
import ServiceLifecycle
import TributaryModel

/// The adapter role for one chain: backfills to the head with `eth_getLogs`, then follows the
/// head block by block, answering reorgs with retractions and finality changes with status
/// records, and produces everything to `raw-events`.
///
/// Records are keyed by the chain's CAIP-2 id, so all of a chain's records are on one partition
/// in the order they were produced (see docs/chain-adapter.md for what that means for scaling).
/// Only blocks with logs produce records. The adapter keeps no state outside the log: on start it
/// reads its own history back from `raw-events` (``EmittedHistory``), checks it against the chain
/// and continues after the newest block it produced — after a crash at any instant there is no
/// gap, and a block produced again is produced identically.
public struct ChainAdapterService: Service {
    private let configuration: ChainAdapterConfiguration
    private let log: any EventLog
    private let encoding: RecordEncoding
    private let logger: Logger

    /// Creates the adapter for one chain.
    public init(
        configuration: ChainAdapterConfiguration, log: any EventLog, encoding: RecordEncoding = .json,
        logger: Logger = Logger(label: "tributary.adapter")
    ) {
        self.configuration = configuration
        self.log = log
        self.encoding = encoding
        var logger = logger
        logger[metadataKey: "chain"] = "\(configuration.source)"
        self.logger = logger
    }

    public func run() async throws {
        let pool = EndpointPool(
            endpoints: configuration.endpoints, timeout: configuration.requestTimeout, logger: logger)
        let restarts = Counter(label: "tributary_adapter_restarts_total", dimensions: [("chain", configuration.source)])
        do {
            try await cancelWhenGracefulShutdown {
                var backoff = Duration.seconds(1)
                while true {
                    // Each attempt starts from what the log says was produced, exactly as after a
                    // crash, so an error at any point can neither lose nor alter records.
                    var follower = ChainFollower(
                        configuration: configuration, client: ChainRPCClient(pool: pool), log: log,
                        encoding: encoding, logger: logger)
                    do {
                        try await follower.run()
                        return
                    } catch let error as ChainAdapterError where error.isFatal {
                        throw error
                    } catch let error where !(error is CancellationError) {
                        restarts.increment()
                        logger.warning(
                            "chain adapter failed; starting again from the log in \(backoff)",
                            metadata: ["reason": "\(error)"])
                        try await Task.sleep(for: backoff)
                        backoff = min(backoff * 2, .seconds(30))
                    }
                }
            }
        } catch is CancellationError {
            logger.info("chain adapter stopped")
        } catch let error as ChainAdapterError where error.isFatal {
            logger.critical("chain adapter stopped: \(error)")
            throw error
        }
    }
}

/// The adapter's working state and loop; one per chain, owned by one task.
struct ChainFollower {
    private let configuration: ChainAdapterConfiguration
    private let client: ChainRPCClient
    private let log: any EventLog
    private let encoding: RecordEncoding
    private let logger: Logger
    private let topic = StandardTopic.rawEvents.name

    /// Emitted, not yet finalized blocks with logs: their latest records.
    private var open: [UInt64: Tributary_V1_RawBlockRecord] = [:]
    /// Every processed block of the recent chain, with or without logs.
    private var window: CanonicalChainWindow
    private var finality: FinalityTracker
    /// The next block number to process.
    private var next: UInt64 = 0

    private let recordsProduced: Counter
    private let logsProduced: Counter
    private let retractions: Counter
    private let reorgs: Counter
    private let reorgDepth: Recorder
    private let headGauge: Gauge
    private let processedGauge: Gauge
    private let tailErrors: Counter

    init(
        configuration: ChainAdapterConfiguration, client: ChainRPCClient, log: any EventLog, encoding: RecordEncoding,
        logger: Logger
    ) {
        self.configuration = configuration
        self.client = client
        self.log = log
        self.encoding = encoding
        self.logger = logger
        window = CanonicalChainWindow(capacity: configuration.reorgWindow)
        finality = FinalityTracker(confirmations: configuration.confirmations)
        let chain = [("chain", configuration.source)]
        recordsProduced = Counter(label: "tributary_adapter_records_total", dimensions: chain)
        logsProduced = Counter(label: "tributary_adapter_logs_total", dimensions: chain)
        retractions = Counter(label: "tributary_adapter_retracted_blocks_total", dimensions: chain)
        reorgs = Counter(label: "tributary_adapter_reorgs_total", dimensions: chain)
        reorgDepth = Recorder(label: "tributary_adapter_reorg_depth", dimensions: chain)
        headGauge = Gauge(label: "tributary_adapter_head_block", dimensions: chain)
        processedGauge = Gauge(label: "tributary_adapter_processed_block", dimensions: chain)
        tailErrors = Counter(label: "tributary_adapter_tail_errors_total", dimensions: chain)
    }

    mutating func run() async throws {
        try await withRetries("checking the chain id") {
            let answered = try await client.chainID()
            guard answered == configuration.chainID else {
                throw ChainAdapterError(
                    .wrongChain,
                    "the endpoints of '\(configuration.name)' serve chain id \(answered), not the configured \(configuration.chainID)"
                )
            }
        }
        let history = try await EmittedHistory.read(
            from: log, topic: topic, key: configuration.caip2, source: configuration.source,
            window: configuration.reorgWindow)
        let head = try await withRetries("reading the head") { try await currentHead() }
        if let newest = history.newest {
            logger.info(
                "resuming after block \(newest.number)", metadata: ["open": "\(history.open.count)"])
            open = history.open
            for (number, record) in open {
                finality.emitted(number: number, hash: record.block.hash, status: record.status)
            }
            next = try await reconcile(resumingAfter: newest.number, knownHashes: history.hashes)
        } else {
            switch configuration.start {
            case .number(let number): next = number
            case .latest: next = head.number
            }
            logger.info("starting at block \(next)")
        }
        try await backfill(toward: head)
        try await tail()
    }

    // MARK: - Backfill

    /// Backfills `next…` up to `reorgWindow` blocks below `head` (the tail takes the rest block by
    /// block), then checks what it produced against the chain.
    private mutating func backfill(toward head: RPCBlockHeader) async throws {
        let window = UInt64(configuration.reorgWindow)
        guard head.number >= window, next + window <= head.number else { return }
        let range = next...(head.number - window)
        let finalized = try await withRetries("reading the finalized block") { try await client.header(.finalized) }?
            .number
        let progress = BackfillProgress(
            source: configuration.source, chain: configuration.source, range: range,
            showsProgress: configuration.showsProgress, logger: logger)
        let status = Self.statusFunction(
            head: head.number, finalized: finalized, confirmations: configuration.confirmations)
        let backfiller = Backfiller(
            client: client, chainID: configuration.caip2, configuration: configuration.backfill, logger: logger)
        var produced: [Tributary_V1_RawBlockRecord] = []
        logger.info("backfilling blocks \(range.lowerBound)…\(range.upperBound)")
        // Encoding and appending overlap the next fetches; appends stay in order.
        var appends = OrderedAppends(depth: 2)
        let (log, encoding, topic, key) = (self.log, self.encoding, self.topic, configuration.caip2)
        do {
            try await backfiller.run(range, status: status) { records in
                let stamped = records.map { record in
                    var record = record
                    record.source = configuration.source
                    return record
                }
                try await appends.submit {
                    _ = try await log.append(try Self.outgoing(stamped, topic: topic, key: key, encoding: encoding))
                }
                recordsProduced.increment(by: stamped.count)
                logsProduced.increment(by: stamped.reduce(0) { $0 + $1.logs.count })
                produced += stamped.filter { $0.status != .finalized }
                if let last = stamped.last {
                    progress.advance(through: last.block.number, newLogs: stamped.reduce(0) { $0 + $1.logs.count })
                }
            }
            try await appends.finish()
        } catch {
            await appends.abandon()
            throw error
        }
        progress.finish()
        for record in produced {
            open[record.block.number] = record
            finality.emitted(number: record.block.number, hash: record.block.hash, status: record.status)
        }
        next = try await reconcile(
            resumingAfter: range.upperBound,
            knownHashes: Dictionary(uniqueKeysWithValues: produced.map { ($0.block.number, $0.block.hash) }))
    }

    /// The status a backfilled block gets from the head and the chain's finalized block.
    static func statusFunction(
        head: UInt64, finalized: UInt64?, confirmations: UInt64
    ) -> @Sendable (UInt64) -> Tributary_V1_FinalityStatus {
        { number in
            if let finalized, number <= finalized { return .finalized }
            return head >= number && head - number + 1 >= max(1, confirmations) ? .confirmed : .pending
        }
    }

    // MARK: - Reconciling with the chain

    /// Checks the open blocks produced so far against the chain, retracts those it no longer has
    /// (newest first), loads the recent chain into the window and returns the next block to
    /// process: after `resumingAfter` when nothing changed, else after the newest produced block
    /// the chain still has.
    private mutating func reconcile(
        resumingAfter processed: UInt64, knownHashes: [UInt64: String]
    ) async throws
        -> UInt64
    {
        var resume = processed + 1
        while true {
            let numbers = open.keys.sorted(by: >)
            let headers = try await withRetries("checking produced blocks") { try await client.headers(numbers) }
            var orphaned: [Tributary_V1_RawBlockRecord] = []
            for (number, header) in zip(numbers, headers) {
                guard let record = open[number], header?.hash != record.block.hash else { break }
                orphaned.append(record)
            }
            if !orphaned.isEmpty {
                let lowest = orphaned.last!.block.number
                try await retract(orphaned)
                // Resume after the newest block still on the chain; blocks between it and the
                // orphans produced nothing then, but may have logs on the new branch.
                let ancestor = try await commonAncestor(below: lowest, knownHashes: knownHashes)
                resume = ancestor.map { $0 + 1 } ?? lowest
                logger.warning(
                    "the chain reorganized while the adapter was away: \(orphaned.count) produced blocks retracted",
                    metadata: ["resume": "\(resume)"])
            }
            if let loaded = try await loadWindow(endingBelow: resume) { return loaded }
        }
    }

    /// The highest block below `number` whose produced hash the chain still has; `nil` when no
    /// produced block below it is known.
    private func commonAncestor(below number: UInt64, knownHashes: [UInt64: String]) async throws -> UInt64? {
        let candidates = knownHashes.keys.filter { $0 < number }.sorted(by: >)
        guard !candidates.isEmpty else { return nil }
        let headers = try await withRetries("finding the common ancestor") {
            try await client.headers(Array(candidates.prefix(configuration.reorgWindow)))
        }
        for (candidate, header) in zip(candidates, headers) where header?.hash == knownHashes[candidate] {
            return candidate
        }
        let deepest = candidates.prefix(configuration.reorgWindow).last ?? number
        throw ChainAdapterError(
            .reorgTooDeep,
            "no block the adapter produced between \(deepest) and \(number) is on the chain any more: the reorg is deeper than the \(configuration.reorgWindow)-block window; check the endpoints serve the right chain, then restart with a larger chains.<name>.reorgWindow"
        )
    }

    /// Fills the window with the chain's blocks just below `resume` and returns where to resume
    /// (lower when the chain now ends below it); `nil` when they disagree with an open block (the
    /// chain moved meanwhile: reconcile again).
    private mutating func loadWindow(endingBelow resume: UInt64) async throws -> UInt64? {
        window = CanonicalChainWindow(capacity: configuration.reorgWindow)
        guard resume > 0 else { return resume }
        let first = resume > UInt64(configuration.reorgWindow) ? resume - UInt64(configuration.reorgWindow) : 0
        let numbers = Array(first...(resume - 1))
        let headers = try await withRetries("loading recent blocks") { try await client.headers(numbers) }
        for (number, header) in zip(numbers, headers) {
            guard let header else { return open.keys.contains { $0 >= number } ? nil : number }
            if let record = open[number], record.block.hash != header.hash { return nil }
            let record =
                open[number]
                ?? RawBlockRecords.make(chainID: configuration.caip2, header: header, logs: [], status: .pending)
            if let tip = window.tip, tip.hash != header.parentHash { return nil }
            window.append(.init(number: number, hash: header.hash, parentHash: header.parentHash, record: record))
        }
        return resume
    }

    // MARK: - Live tail

    private mutating func tail() async throws {
        let watcher = HeadWatcher(
            webSocketURL: configuration.webSocketURL, pollInterval: configuration.pollInterval,
            chain: configuration.source, logger: logger)
        logger.info(
            "following the head",
            metadata: ["next": "\(next)", "newHeads": "\(configuration.webSocketURL == nil ? "off" : "on")"])
        for await _ in watcher.wakeUps() {
            do {
                try await followHead()
            } catch let error as ChainAdapterError where !error.isFatal {
                tailErrors.increment()
                logger.warning("following the head failed; retrying", metadata: ["reason": "\(error)"])
                try await Task.sleep(for: configuration.pollInterval)
            }
        }
        try Task.checkCancellation()
    }

    /// Brings the produced chain up to the current head.
    private mutating func followHead() async throws {
        let head = try await currentHead()
        headGauge.record(head.number)
        if next + 2 * UInt64(configuration.reorgWindow) <= head.number {
            try await backfill(toward: head)  // far behind (a long outage): catch up in ranges
        }
        if let tip = window.tip, head.number <= tip.number {
            if window.connection(number: head.number, hash: head.hash, parentHash: head.parentHash) != .known {
                try await adopt(head)  // the chain switched to a branch no longer than ours
            }
        } else {
            while next <= head.number {
                let header: RPCBlockHeader
                if next == head.number {
                    header = head
                } else if let fetched = try await client.header(.number(next)) {
                    header = fetched
                } else {
                    break  // the node's head went back meanwhile: the next wake-up sees it
                }
                let before = next
                try await adopt(header)
                if next <= before { break }  // nothing new (the node repeated itself): wait
            }
        }
        let finalized = try await client.header(.finalized)?.number
        try await produceTransitions(head: head.number, finalized: finalized)
    }

    /// Makes `header` the tip: appends it, or walks back to where it meets the window, retracts
    /// what it orphans (newest first) and produces the new branch.
    private mutating func adopt(_ header: RPCBlockHeader) async throws {
        var branch = [header]
        while true {
            let candidate = branch[branch.count - 1]
            switch window.connection(number: candidate.number, hash: candidate.hash, parentHash: candidate.parentHash) {
            case .extendsTip, .empty:
                break
            case .known:
                branch.removeLast()
            case .needsParent(let parentHash):
                guard branch.count <= configuration.reorgWindow else { throw tooDeep(at: header) }
                guard let parent = try await client.header(hash: parentHash) else {
                    throw ChainAdapterError(
                        .malformedResponse, "block \(candidate.number - 1) (\(parentHash)) is unknown to the node")
                }
                branch.append(parent)
                continue
            case .forksAt(let ancestor):
                let orphaned = window.truncate(above: ancestor)
                finality.orphan(above: ancestor)
                reorgs.increment()
                reorgDepth.record(orphaned.count)
                logger.info(
                    "reorg: \(orphaned.count) blocks above \(ancestor) orphaned",
                    metadata: ["newHead": "\(header.number)"])
                try await retract(orphaned.compactMap { open[$0.number] })
                next = ancestor + 1
            case .deeperThanWindow:
                throw tooDeep(at: header)
            }
            break
        }
        for block in branch.reversed() {
            try await append(block)
        }
    }

    /// Processes the block on top of the tip: its logs (checked against its bloom), one record
    /// when it has any.
    private mutating func append(_ header: RPCBlockHeader) async throws {
        if let tip = window.tip, header.number != tip.number + 1 || header.parentHash != tip.hash {
            throw ChainAdapterError(
                .malformedResponse,
                "block \(header.number) (parent \(header.parentHash)) does not follow block \(tip.number) (\(tip.hash)) although the node linked them"
            )
        }
        var logs: [RPCLog] = []
        if !header.bloomIsEmpty {
            logs = try await Backfiller.checked(
                try await client.logs(blockHash: header.hash), of: header, client: client, chainID: configuration.caip2)
        }
        var record = RawBlockRecords.make(
            chainID: configuration.caip2, header: header, logs: logs, status: .pending)
        record.source = configuration.source
        if !logs.isEmpty {
            if let produced = open[header.number], produced.block.hash == header.hash {
                record = produced  // produced before a restart: not again
            } else {
                try await produce([record])
                logsProduced.increment(by: logs.count)
                open[header.number] = record
                finality.emitted(number: header.number, hash: header.hash, status: .pending)
            }
        }
        window.append(.init(number: header.number, hash: header.hash, parentHash: header.parentHash, record: record))
        next = header.number + 1
        processedGauge.record(header.number)
    }

    /// Produces a retraction for each of `records` (given newest first), in that order.
    private mutating func retract(_ records: [Tributary_V1_RawBlockRecord]) async throws {
        guard !records.isEmpty else { return }
        let retracted = records.map { record in
            var record = record
            record.removed = true
            return record
        }
        try await produce(retracted)
        for record in records { open.removeValue(forKey: record.block.number) }
        retractions.increment(by: records.count)
    }

    /// Produces a record for each block whose status changed.
    private mutating func produceTransitions(head: UInt64, finalized: UInt64?) async throws {
        let transitions = finality.advance(head: head, finalized: finalized)
        guard !transitions.isEmpty else { return }
        var records: [Tributary_V1_RawBlockRecord] = []
        for transition in transitions {
            guard var record = open[transition.number], record.block.hash == transition.hash else { continue }
            record.status = transition.status
            records.append(record)
            if transition.status == .finalized {
                open.removeValue(forKey: transition.number)
            } else {
                open[transition.number] = record
            }
        }
        try await produce(records)
    }

    // MARK: - Helpers

    private func currentHead() async throws -> RPCBlockHeader {
        guard let head = try await client.header(.latest) else {
            throw ChainAdapterError(.malformedResponse, "the node has no latest block")
        }
        return head
    }

    private func produce(_ records: [Tributary_V1_RawBlockRecord]) async throws {
        guard !records.isEmpty else { return }
        _ = try await log.append(try Self.outgoing(records, topic: topic, key: configuration.caip2, encoding: encoding))
        recordsProduced.increment(by: records.count)
    }

    private static func outgoing(
        _ records: [Tributary_V1_RawBlockRecord], topic: String, key: String, encoding: RecordEncoding
    ) throws -> [OutgoingRecord] {
        let header = RecordHeader(name: RecordEncoding.headerName, text: encoding.contentType)
        return try records.map { record in
            OutgoingRecord(topic: topic, key: key, value: try encoding.encode(record), headers: [header])
        }
    }

    private func tooDeep(at header: RPCBlockHeader) -> ChainAdapterError {
        ChainAdapterError(
            .reorgTooDeep,
            "block \(header.number) (\(header.hash)) does not connect to any of the last \(configuration.reorgWindow) blocks the adapter processed: the reorg is deeper than its window. Nothing was guessed; restart to re-check the produced blocks against the chain, or raise chains.<name>.reorgWindow"
        )
    }

    /// Runs `body`, retrying transient RPC failures with a pause, so start-up survives an
    /// endpoint that is briefly down.
    private func withRetries<T>(_ what: String, _ body: () async throws -> T) async throws -> T {
        while true {
            do {
                return try await body()
            } catch let error as ChainAdapterError where error.isTransient {
                logger.warning("\(what) failed; retrying", metadata: ["reason": "\(error)"])
                try await Task.sleep(for: configuration.pollInterval)
            }
        }
    }
}

/// Appends that run behind the caller, in submission order: each waits for the one before it,
/// and at most `depth` are outstanding (the caller waits for the oldest beyond that).
struct OrderedAppends {
    let depth: Int
    private var pending: [Task<Void, any Error>] = []

    init(depth: Int) {
        self.depth = max(1, depth)
    }

    /// Queues `append` after every earlier one.
    mutating func submit(_ append: @escaping @Sendable () async throws -> Void) async throws {
        let previous = pending.last
        pending.append(
            Task {
                try await previous?.value
                try await append()
            })
        while pending.count > depth { try await pending.removeFirst().value }
    }

    /// Waits for every queued append; throws the first failure.
    mutating func finish() async throws {
        defer { pending = [] }
        for task in pending { try await task.value }
    }

    /// After a failure: lets queued appends end (the next start reads the log back, so none may
    /// still be running then).
    mutating func abandon() async {
        for task in pending {
            task.cancel()
            _ = try? await task.value
        }
        pending = []
    }
}
