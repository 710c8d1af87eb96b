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
                    let started = ContinuousClock.now
                    do {
                        try await follower.run()
                        return
                    } catch let error as ChainAdapterError where error.isFatal {
                        throw error
                    } catch let error where !(error is CancellationError) {
                        restarts.increment()
                        if ContinuousClock.now - started > .seconds(300) { backoff = .seconds(1) }
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
    /// Recently produced blocks (any status, not retracted): number → hash. A block produced again
    /// after a restart with the same hash is not produced a second time.
    private var produced: [UInt64: String] = [:]
    /// The highest block produced as `finalized`; no reorg may reach below it.
    private var finalizedThrough: UInt64?

    private let recordsProduced: Counter
    private let logsProduced: Counter
    private let retractions: Counter
    private let reorgs: Counter
    private let reorgDepth: Recorder
    private let headGauge: Gauge
    private let processedGauge: Gauge
    private let tailErrors: Counter
    /// `newHeads` notifications of the next block, by path: appended on the quick path, or left
    /// to the usual one (the endpoint lagging, another branch, a refused request).
    private let announcedQuick: Counter
    private let announcedUsual: Counter

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
        announcedQuick = Counter(
            label: "tributary_adapter_announced_blocks_total", dimensions: chain + [("path", "quick")])
        announcedUsual = Counter(
            label: "tributary_adapter_announced_blocks_total", dimensions: chain + [("path", "usual")])
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
        let chainFinalizes = try await withRetries("reading the finalized block") { try await finalizedNumber() } != nil
        let history = try await EmittedHistory.read(
            from: log, topic: topic, key: configuration.caip2, source: configuration.source,
            window: configuration.reorgWindow, chainFinalizes: chainFinalizes)
        let head = try await withRetries("reading the head") { try await currentHead() }
        if let newest = history.newest {
            logger.info(
                "resuming after block \(newest.number)", metadata: ["open": "\(history.open.count)"])
            open = history.open
            produced = history.hashes
            finalizedThrough = history.hashes.keys.filter { history.open[$0] == nil }.max()
            for (number, record) in open {
                finality.emitted(number: number, hash: record.block.hash, status: record.status)
            }
            next = try await reconcile(resumingAfter: newest.number)
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
        let depth = UInt64(configuration.reorgWindow)
        guard head.number >= depth, next + depth <= head.number else { return }
        let range = next...(head.number - depth)
        let finalized = try await withRetries("reading the finalized block") { try await finalizedNumber() }
        let progress = BackfillProgress(
            source: configuration.source, range: range, showsProgress: configuration.showsProgress, logger: logger)
        let status = Self.statusFunction(
            head: head.number, finalized: finalized, confirmations: configuration.confirmations)
        let backfiller = Backfiller(
            client: client, chainID: configuration.caip2, configuration: configuration.backfill, logger: logger)
        var openProduced: [Tributary_V1_RawBlockRecord] = []
        let remembered = range.upperBound > 2 * depth ? range.upperBound - 2 * depth : 0
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
                    _ = try await log.append(
                        try Self.outgoing(
                            stamped, kind: TributaryRecordHeader.RecordKind.block, topic: topic, key: key,
                            encoding: encoding))
                }
                recordsProduced.increment(by: stamped.count)
                logsProduced.increment(by: stamped.reduce(0) { $0 + $1.logs.count })
                openProduced += stamped.filter { $0.status != .finalized }
                for record in stamped where record.block.number >= remembered {
                    produced[record.block.number] = record.block.hash
                }
                if let last = stamped.last(where: { $0.status == .finalized }) {
                    finalizedThrough = max(finalizedThrough ?? 0, last.block.number)
                }
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
        for record in openProduced {
            open[record.block.number] = record
            finality.emitted(number: record.block.number, hash: record.block.hash, status: record.status)
        }
        produced = produced.filter { $0.key >= remembered }
        next = try await reconcile(resumingAfter: range.upperBound)
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

    /// Checks the open blocks produced so far against the chain, retracts those it now has with
    /// another hash (newest first), loads the recent chain into the window and returns the next
    /// block to process: after `resumingAfter` when nothing changed, else after the newest produced
    /// block the chain still has.
    ///
    /// A block the node does not have (yet) is not taken for an orphan: a lagging endpoint must not
    /// cause retractions. The attempt fails instead and is repeated after a pause.
    private mutating func reconcile(resumingAfter processed: UInt64) async throws -> UInt64 {
        var resume = processed + 1
        for attempt in 1...5 {
            let numbers = open.keys.sorted(by: >)
            let headers = try await withRetries("checking produced blocks") { try await client.headers(numbers) }
            var orphaned: [Tributary_V1_RawBlockRecord] = []
            for (number, header) in zip(numbers, headers) {
                guard let header else { throw Self.behind(number) }
                guard let record = open[number], header.hash != record.block.hash else { break }
                orphaned.append(record)
            }
            if let lowest = orphaned.last?.block {
                try await retract(orphaned)
                resume = try await resumePoint(belowOrphan: lowest)
                logger.warning(
                    "the chain reorganized while the adapter was away: \(orphaned.count) produced blocks retracted",
                    metadata: ["resume": "\(resume)"])
            }
            if try await loadWindow(endingBelow: resume) { return resume }
            try await Task.sleep(for: configuration.pollInterval * attempt)  // the chain moved meanwhile
        }
        throw ChainAdapterError(.unavailable, "the endpoints kept disagreeing about the recent chain; starting again")
    }

    /// Where to resume after retracting blocks from `orphan` up: after the newest produced block
    /// below it that the chain still has; if none is known, after the orphan's parent when the chain
    /// still has that, else a window lower (blocks produced again unchanged are skipped).
    private func resumePoint(belowOrphan orphan: Tributary_V1_BlockHeader) async throws -> UInt64 {
        let candidates = Array(
            produced.keys.filter { $0 < orphan.number }.sorted(by: >).prefix(configuration.reorgWindow))
        let headers = try await withRetries("finding the common ancestor") { try await client.headers(candidates) }
        for (candidate, header) in zip(candidates, headers) where header?.hash == produced[candidate] {
            return candidate + 1
        }
        if let deepest = candidates.last, candidates.count == configuration.reorgWindow {
            throw ChainAdapterError(
                .reorgTooDeep,
                "no block the adapter produced between \(deepest) and \(orphan.number) is on the chain any more: the reorg is deeper than the \(configuration.reorgWindow)-block window; check the endpoints serve the right chain, then restart with a larger chains.<name>.reorgWindow"
            )
        }
        guard orphan.number > 0 else { return 0 }
        if try await client.header(.number(orphan.number - 1))?.hash == orphan.parentHash { return orphan.number }
        let floor = finalizedThrough.map { $0 + 1 } ?? 0
        return max(
            floor,
            orphan.number > UInt64(configuration.reorgWindow) ? orphan.number - UInt64(configuration.reorgWindow) : 0)
    }

    /// Fills the window with the chain's blocks just below `resume`; `false` when they disagree
    /// with an open block or do not link up (the chain moved meanwhile: reconcile again).
    private mutating func loadWindow(endingBelow resume: UInt64) async throws -> Bool {
        window = CanonicalChainWindow(capacity: configuration.reorgWindow)
        guard resume > 0 else { return true }
        let first = resume > UInt64(configuration.reorgWindow) ? resume - UInt64(configuration.reorgWindow) : 0
        let numbers = Array(first...(resume - 1))
        let headers = try await withRetries("loading recent blocks") { try await client.headers(numbers) }
        for (number, header) in zip(numbers, headers) {
            guard let header else { throw Self.behind(number) }
            if let record = open[number], record.block.hash != header.hash { return false }
            let record =
                open[number]
                ?? RawBlockRecords.make(chainID: configuration.caip2, header: header, logs: [], status: .pending)
            if let tip = window.tip, tip.hash != header.parentHash { return false }
            window.append(.init(number: number, hash: header.hash, parentHash: header.parentHash, record: record))
        }
        return true
    }

    private static func behind(_ number: UInt64) -> ChainAdapterError {
        ChainAdapterError(.unavailable, "the node does not have block \(number) (yet): it is behind; trying again")
    }

    // MARK: - Live tail

    private mutating func tail() async throws {
        let watcher = HeadWatcher(
            webSocketURL: configuration.webSocketURL, pollInterval: configuration.pollInterval,
            chain: configuration.source, logger: logger)
        logger.info(
            "following the head",
            metadata: ["next": "\(next)", "newHeads": "\(configuration.webSocketURL == nil ? "off" : "on")"])
        for await announced in watcher.wakeUps() {
            do {
                if let announced, announced.number == next {
                    if try await appendAnnounced(announced) {
                        announcedQuick.increment()
                        continue
                    }
                    announcedUsual.increment()
                }
                try await followHead()
            } catch let error as ChainAdapterError where !error.isFatal {
                tailErrors.increment()
                logger.warning("following the head failed; retrying", metadata: ["reason": "\(error)"])
                try await Task.sleep(for: configuration.pollInterval)
            }
        }
        try Task.checkCancellation()
    }

    /// The quick path for a `newHeads` notification of the next block: its header and logs in
    /// one request, instead of asking for the head first and then for the logs. `false` when the
    /// HTTP endpoint does not hold that block at that height (yet), when it does not extend the
    /// tip, when its logs do not match its bloom, or when the node refuses the request:
    /// ``followHead()`` then does the usual work. Transient failures are the tail's to handle.
    private mutating func appendAnnounced(_ announced: HeadWatcher.Announcement) async throws -> Bool {
        guard window.tip != nil else { return false }
        let fetched: (header: RPCBlockHeader, logs: [RPCLog])?
        do {
            fetched = try await client.blockWithLogs(number: announced.number, hash: announced.hash)
        } catch let error as ChainAdapterError where !error.isFatal && !error.isTransient {
            logger.debug("announced block: taking the usual path", metadata: ["reason": "\(error)"])
            return false
        }
        guard let (header, logs) = fetched,
            window.connection(number: header.number, hash: header.hash, parentHash: header.parentHash) == .extendsTip,
            try Backfiller.complete(logs, header: header)
        else { return false }
        headGauge.record(header.number)
        try await append(header, logs: logs)
        try await produceTransitions(head: header.number, finalized: try await finalizedNumber())
        return true
    }

    /// Brings the produced chain up to the current head.
    private mutating func followHead() async throws {
        let head = try await currentHead()
        headGauge.record(head.number)
        if let first = window.blocks.first, head.number < first.number {
            logger.debug("ignoring a head below the window (a lagging endpoint)", metadata: ["head": "\(head.number)"])
            return
        }
        if next + 2 * UInt64(configuration.reorgWindow) <= head.number {
            // Far behind (a long outage): first follow any reorg of the tip, then catch up in ranges.
            if let tip = window.tip, let atTip = try await client.header(.number(tip.number)), atTip.hash != tip.hash {
                try await adopt(atTip)
            }
            do {
                try await backfill(toward: head)
            } catch let error as ChainAdapterError where error.isFatal {
                throw error
            } catch {
                // Part of the range may have been produced: start again from what the log says.
                throw RestartFromLog(reason: error)
            }
        }
        if let tip = window.tip, head.number <= tip.number {
            if window.connection(number: head.number, hash: head.hash, parentHash: head.parentHash) != .known {
                // Only when the node still says so at our tip's height: a stale answer from a
                // lagging endpoint must not retract anything.
                if try await client.header(.number(tip.number))?.hash != tip.hash {
                    try await adopt(head)  // the chain switched to a branch no longer than ours
                }
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
        try await produceTransitions(head: head.number, finalized: try await finalizedNumber())
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
                if let finalizedThrough, ancestor < finalizedThrough {
                    throw ChainAdapterError(
                        .reorgTooDeep,
                        "block \(header.number) (\(header.hash)) forks below block \(finalizedThrough), which the chain had finalized: check the endpoints serve the right chain"
                    )
                }
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

    /// Processes the block on top of the tip: its logs (checked against its bloom, unless
    /// `checkedLogs` are given), one record when it has any.
    private mutating func append(_ header: RPCBlockHeader, logs checkedLogs: [RPCLog]? = nil) async throws {
        if let tip = window.tip, header.number != tip.number + 1 || header.parentHash != tip.hash {
            throw ChainAdapterError(
                .malformedResponse,
                "block \(header.number) (parent \(header.parentHash)) does not follow block \(tip.number) (\(tip.hash)) although the node linked them"
            )
        }
        var logs: [RPCLog] = checkedLogs ?? []
        if checkedLogs == nil, !header.bloomIsEmpty {
            logs = try await Backfiller.checked(
                try await client.logs(blockHash: header.hash), of: header, client: client, chainID: configuration.caip2)
        }
        var record = RawBlockRecords.make(
            chainID: configuration.caip2, header: header, logs: logs, status: .pending)
        record.source = configuration.source
        if !logs.isEmpty {
            if produced[header.number] == header.hash {
                record = open[header.number] ?? record  // produced before a restart: not again
            } else {
                try await produce([record], kind: TributaryRecordHeader.RecordKind.block)
                produced[header.number] = header.hash
                if produced.count > 4 * configuration.reorgWindow {
                    let oldest =
                        header.number > UInt64(2 * configuration.reorgWindow)
                        ? header.number - UInt64(2 * configuration.reorgWindow) : 0
                    produced = produced.filter { $0.key >= oldest }
                }
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
        try await produce(retracted, kind: TributaryRecordHeader.RecordKind.retraction)
        for record in records {
            open.removeValue(forKey: record.block.number)
            produced.removeValue(forKey: record.block.number)
        }
        retractions.increment(by: records.count)
    }

    /// Produces a record for each block whose status changed.
    private mutating func produceTransitions(head: UInt64, finalized: UInt64?) async throws {
        // Finalizing is for good: first check the chain's finalized blocks are the ones produced.
        if let finalized {
            let finalizing = open.keys.filter { $0 <= finalized }.sorted()
            let headers = try await client.headers(finalizing)
            for (number, header) in zip(finalizing, headers) {
                guard let header else { throw Self.behind(number) }
                if header.hash != open[number]?.block.hash {
                    logger.warning("a produced block is not on the finalized chain", metadata: ["block": "\(number)"])
                    try await adopt(header)
                    return
                }
            }
        }
        let transitions = finality.advance(head: head, finalized: finalized)
        guard !transitions.isEmpty else { return }
        var records: [Tributary_V1_RawBlockRecord] = []
        for transition in transitions {
            guard var record = open[transition.number], record.block.hash == transition.hash else { continue }
            record.status = transition.status
            records.append(record)
            if transition.status == .finalized {
                open.removeValue(forKey: transition.number)
                finalizedThrough = max(finalizedThrough ?? 0, transition.number)
            } else {
                open[transition.number] = record
            }
        }
        try await produce(records, kind: TributaryRecordHeader.RecordKind.status)
    }

    // MARK: - Helpers

    private func currentHead() async throws -> RPCBlockHeader {
        guard let head = try await client.header(.latest) else {
            throw ChainAdapterError(.malformedResponse, "the node has no latest block")
        }
        return head
    }

    private func produce(_ records: [Tributary_V1_RawBlockRecord], kind: String) async throws {
        guard !records.isEmpty else { return }
        _ = try await log.append(
            try Self.outgoing(records, kind: kind, topic: topic, key: configuration.caip2, encoding: encoding))
        recordsProduced.increment(by: records.count)
    }

    /// The records to append; `kind` (``EmittedHistory/kindHeader``) lets a restart tell first
    /// productions from transitions.
    private static func outgoing(
        _ records: [Tributary_V1_RawBlockRecord], kind: String, topic: String, key: String, encoding: RecordEncoding
    ) throws -> [OutgoingRecord] {
        let headers = [
            RecordHeader(name: RecordEncoding.headerName, text: encoding.contentType),
            RecordHeader(name: EmittedHistory.kindHeader, text: kind),
        ]
        return try records.map { record in
            OutgoingRecord(topic: topic, key: key, value: try encoding.encode(record), headers: headers)
        }
    }

    /// The chain's finalized block; `nil` when the node does not support the tag.
    private func finalizedNumber() async throws -> UInt64? {
        do {
            return try await client.header(.finalized)?.number
        } catch let error as ChainAdapterError where error.code == .rpcError {
            logger.debug("no finalized tag; blocks stay confirmed", metadata: ["reason": "\(error)"])
            return nil
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

/// A failure after which the adapter's state in memory may not match the log: it starts again
/// from the log.
struct RestartFromLog: Error, CustomStringConvertible {
    var reason: any Error
    var description: String { "\(reason)" }
}
