import TributaryModel

/// The router's finality gating: which matched events to hand to functions now, which to hold,
/// and which held ones a retraction cancels. Pure state; the router does the I/O.
///
/// - `instant` triggers get every first sighting and every retraction at once.
/// - `confirmations: N` triggers get an event once the chain's head (the highest block seen,
///   lowered again by retractions) is N − 1 blocks past it; a retraction first drops it.
/// - `finalized` triggers get an event when a record of it arrives with status `finalized`; a
///   retraction first drops it. A `finalized` record also releases `confirmations` holds.
///
/// The head only moves with the events the router sees: on a chain with no matching activity a
/// `confirmations` hold waits for the next event or the `finalized` record.
struct RouterStateMachine {
    /// One event for one trigger.
    struct Delivery {
        var event: Tributary_V1_CanonicalEvent
        var trigger: CompiledTrigger
    }

    /// What the router should do after a record.
    enum Action {
        /// Produce an invocation for each.
        case invoke([Delivery])
    }

    private struct HeldKey: Hashable {
        var eventID: String
        var triggerID: String
    }

    private struct Held {
        var delivery: Delivery
        var source: RecordSource
    }

    /// Where a held event was read, so offsets are not committed past it.
    struct RecordSource: Hashable {
        var partition: Int
        var offset: Int64
    }

    private var heads: [String: UInt64] = [:]
    private var held: [HeldKey: Held] = [:]
    /// Events seen as first sightings for instant triggers, so later status records of the same
    /// event do not invoke again. Bounded; after a restart a repeat carries the same invocation id.
    private var instantSeen = BoundedSet<HeldKey>(capacity: 200_000)
    /// Retractions that came too late (the event had been delivered under a non-instant mode).
    private(set) var lateRetractions = 0

    /// Number of events held.
    var heldCount: Int { held.count }

    /// Handles one canonical event record and the triggers it matched.
    mutating func receive(
        _ event: Tributary_V1_CanonicalEvent, matched triggers: [CompiledTrigger], source: RecordSource
    ) -> [Delivery] {
        var deliveries: [Delivery] = []
        if event.removed {
            heads[event.chainID] = min(heads[event.chainID] ?? event.blockNumber, event.blockNumber &- 1)
        } else {
            heads[event.chainID] = max(heads[event.chainID] ?? 0, event.blockNumber)
        }
        for trigger in triggers {
            let key = HeldKey(eventID: event.id, triggerID: trigger.id)
            switch trigger.finality {
            case .instant:
                if event.removed {
                    instantSeen.remove(key)
                    deliveries.append(Delivery(event: event, trigger: trigger))
                } else if instantSeen.insert(key) {
                    deliveries.append(Delivery(event: event, trigger: trigger))
                }
            case .confirmations, .finalized:
                if event.removed {
                    if held.removeValue(forKey: key) == nil { lateRetractions += 1 }
                } else if event.status == .finalized {
                    // Finalized implies any number of confirmations too.
                    if held.removeValue(forKey: key) != nil || !instantSeen.contains(key) {
                        instantSeen.insert(key)
                        deliveries.append(Delivery(event: event, trigger: trigger))
                    }
                } else if !instantSeen.contains(key) {
                    held[key] = Held(delivery: Delivery(event: event, trigger: trigger), source: source)
                }
            }
        }
        deliveries += releaseConfirmed(chain: event.chainID)
        return deliveries
    }

    /// Whether any of `triggers` holds the event `eventID`.
    func holds(_ eventID: String, forAnyOf triggers: [CompiledTrigger]) -> Bool {
        triggers.contains { held[HeldKey(eventID: eventID, triggerID: $0.id)] != nil }
    }

    /// Releases held `confirmations` events of `chain` that the head has passed far enough.
    private mutating func releaseConfirmed(chain: String) -> [Delivery] {
        guard let head = heads[chain] else { return [] }
        var released: [Delivery] = []
        for (key, entry) in held where entry.delivery.event.chainID == chain {
            guard case .confirmations(let needed) = entry.delivery.trigger.finality else { continue }
            let block = entry.delivery.event.blockNumber
            guard head >= block, head - block + 1 >= needed else { continue }
            held.removeValue(forKey: key)
            instantSeen.insert(key)
            released.append(entry.delivery)
        }
        return released.sorted { ($0.event.blockNumber, $0.event.logIndex) < ($1.event.blockNumber, $1.event.logIndex) }
    }

    /// Per partition, the lowest offset of a held event: commits must stay at or below it so a
    /// restart reads held events again.
    func heldLowWatermarks() -> [Int: Int64] {
        var marks: [Int: Int64] = [:]
        for entry in held.values {
            marks[entry.source.partition] = min(marks[entry.source.partition] ?? .max, entry.source.offset)
        }
        return marks
    }
}

/// A set that forgets its oldest members past a capacity. A member removed and inserted again may
/// be forgotten as early as its first insertion would have been, even by the insertion itself.
struct BoundedSet<Element: Hashable> {
    private var members: Set<Element> = []
    private var order: [Element] = []
    private var start = 0
    let capacity: Int

    init(capacity: Int) { self.capacity = capacity }

    func contains(_ element: Element) -> Bool { members.contains(element) }

    /// Inserts; `true` when the element was not there.
    @discardableResult
    mutating func insert(_ element: Element) -> Bool {
        guard members.insert(element).inserted else { return false }
        order.append(element)
        while members.count > capacity, start < order.count {
            members.remove(order[start])
            start += 1
        }
        // Spent entries, and those of members removed since, are dropped once they are most of
        // the array, so it stays proportional to the members however many come and go.
        if order.count > 2 * members.count + 16 {
            var kept = Set<Element>()
            order = order[start...].filter { members.contains($0) && kept.insert($0).inserted }
            start = 0
        }
        return true
    }

    /// Entries held for the order of forgetting (tests check it stays bounded).
    var orderCount: Int { order.count }

    mutating func remove(_ element: Element) {
        members.remove(element)
    }
}
