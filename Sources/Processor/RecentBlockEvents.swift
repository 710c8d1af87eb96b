import TributaryModel

/// The canonical events of recent blocks, kept so that a block's finality transition or
/// retraction — the adapter's record of the same block again, with another status — is not
/// validated and decoded a second time. On a live chain every block comes back twice (confirmed,
/// then finalized), so without this the processor would normalize each log three times.
///
/// Only records the adapter marks as `status` or `retraction` (``TributaryRecordHeader/recordKind``)
/// are answered from here: the adapter makes them from the record it produced first, so their
/// logs are that record's. A block is kept from its first record until it is finalized or
/// retracted (nothing about it can follow), or until newer blocks push it out: at most
/// `capacity` events in all, the oldest blocks leaving first. Discard it when the decoding
/// registry changes.
struct RecentBlockEvents {
    private struct BlockKey: Hashable {
        var chainID: String
        var hash: String
    }

    /// The most events kept; 0 keeps none.
    let capacity: Int
    private var blocks: [BlockKey: [Tributary_V1_CanonicalEvent]] = [:]
    /// Kept blocks, oldest first; may also hold blocks forgotten since (skipped when evicting).
    private var order: [BlockKey] = []
    private var orderStart = 0
    /// Events in `blocks`.
    private(set) var eventCount = 0
    /// Entries held for the eviction order, forgotten blocks included (tests check it stays
    /// bounded).
    var trackedBlocks: Int { order.count }

    init(capacity: Int) {
        self.capacity = capacity
    }

    /// The events of `record`, with its status and `removed`, when `record` is a transition or
    /// retraction (`kind`) of a kept block with as many logs.
    func events(for record: Tributary_V1_RawBlockRecord, kind: String?) -> [Tributary_V1_CanonicalEvent]? {
        guard kind == TributaryRecordHeader.RecordKind.status || kind == TributaryRecordHeader.RecordKind.retraction,
            var events = blocks[BlockKey(chainID: record.block.chainID, hash: record.block.hash)],
            events.count == record.logs.count
        else { return nil }
        let status = Normalizer.status(of: record)
        for index in events.indices {
            events[index].status = status
            events[index].removed = record.removed
        }
        return events
    }

    /// Keeps `events` as `record`'s block's, or forgets the block once `record` finalizes or
    /// retracts it. Blocks without logs are not kept: there is nothing to save on them.
    mutating func update(after record: Tributary_V1_RawBlockRecord, events: [Tributary_V1_CanonicalEvent]) {
        let key = BlockKey(chainID: record.block.chainID, hash: record.block.hash)
        let keep = !record.removed && record.status != .finalized && !events.isEmpty && events.count <= capacity
        if let previous = blocks.removeValue(forKey: key) {
            eventCount -= previous.count
        } else if keep {
            order.append(key)
        }
        if keep {
            blocks[key] = events
            eventCount += events.count
            while eventCount > capacity, orderStart < order.count {
                let oldest = order[orderStart]
                orderStart += 1
                if let evicted = blocks.removeValue(forKey: oldest) { eventCount -= evicted.count }
            }
        }
        compactOrder()
    }

    /// Skips forgotten blocks at the front of `order` and rewrites it once most of it is spent or
    /// forgotten, so it stays proportional to the blocks kept.
    private mutating func compactOrder() {
        while orderStart < order.count, blocks[order[orderStart]] == nil { orderStart += 1 }
        if order.count > 2 * blocks.count + 16 {
            order = order[orderStart...].filter { blocks[$0] != nil }
            orderStart = 0
        }
    }
}
