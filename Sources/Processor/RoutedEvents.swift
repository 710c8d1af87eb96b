import EventLog
import TributaryModel

/// The events the router has routed since its trigger index was built, so that it can pass over
/// later records of them unread: on a live chain every event comes back twice, as its block is
/// confirmed and then finalized, and reading such a record again changes nothing unless a trigger
/// waits for it.
///
/// A record is passed over when all of these hold:
/// - its ``TributaryRecordHeader/eventStatus`` header is `pending` or `confirmed`, or `finalized`
///   when every trigger is `instant` (a `finalized` record releases held events);
/// - a record with the same key (the event id) was routed since the index was built;
/// - no trigger's filter reads `status`.
///
/// Such a record cannot change what the router does. The event's content is the same in every
/// record of it except `status` and `removed`; retractions are always read; instant triggers
/// already had the first sighting; a held event stays held with the earlier record as its source
/// (which only keeps commits lower); and the record's block is one the router has seen, so the
/// chain's head does not move for it. Records without the header (written by other producers)
/// are always read.
struct RoutedEvents {
    /// The header values of records that may be passed over; empty when none may.
    private let skippableStatuses: Set<[UInt8]>
    private var keys: BoundedSet<[UInt8]>

    /// Starts empty for `index`, remembering at most `capacity` events.
    init(index: TriggerIndex, capacity: Int = 100_000) {
        keys = BoundedSet(capacity: capacity)
        if index.triggers.contains(where: \.readsStatus) {
            skippableStatuses = []
        } else if index.triggers.allSatisfy({ $0.finality == .instant }) {
            skippableStatuses = [Array("pending".utf8), Array("confirmed".utf8), Array("finalized".utf8)]
        } else {
            skippableStatuses = [Array("pending".utf8), Array("confirmed".utf8)]
        }
    }

    /// Whether `record` can be passed over unread.
    func canSkip(_ record: LogRecord) -> Bool {
        guard !skippableStatuses.isEmpty, let key = record.key,
            let status = record.headers.last(named: TributaryRecordHeader.eventStatus),
            skippableStatuses.contains(status)
        else { return false }
        return keys.contains(key)
    }

    /// Notes that `record` has been read and routed. A retraction forgets its event: if the block
    /// comes back (a reorg undone), its records must be read again.
    mutating func routed(_ record: LogRecord, retraction: Bool) {
        guard !skippableStatuses.isEmpty, let key = record.key else { return }
        if retraction {
            keys.remove(key)
        } else {
            keys.insert(key)
        }
    }
}
