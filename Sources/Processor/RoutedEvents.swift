import EventLog
import TributaryModel

/// The events the router has routed since its trigger index was built, so that it can pass over
/// later records of them unread: on a live chain every event comes back twice, as its block is
/// confirmed and then finalized, and reading such a record again changes nothing unless a trigger
/// waits for it.
///
/// A record is passed over when all of these hold:
/// - its ``TributaryRecordHeader/eventRepeat`` header is `true`: the processor did not normalize
///   its event again but repeated its previous record of the event, so only `status` and
///   `removed` can differ from it (not the decoding, which an ABI change could alter);
/// - its ``TributaryRecordHeader/eventStatus`` header is `pending` or `confirmed`, or `finalized`
///   when every trigger is `instant` (a `finalized` record releases held events); retractions are
///   always read;
/// - no trigger's filter reads `status`;
/// - the router read and routed a record of the same event (the record key) since the index was
///   built, no trigger held the event after it, and no retraction of it came since.
///
/// Such a record cannot change what the router does: instant triggers already had the first
/// sighting; no trigger holds the event, so nothing waits for its status or its offset; and its
/// block is one the router has seen, so it would not raise the chain's head. (Read, it could
/// raise a head a retraction on another partition had just lowered; passing over it leaves the
/// head with the retraction.) Records without the headers, from other producers, are always read.
struct RoutedEvents {
    /// The status header values of records that may be passed over; empty when none may.
    private let skippableStatuses: Set<[UInt8]>
    private var keys: BoundedSet<[UInt8]>
    private static let repeatValue = Array("true".utf8)

    /// Starts empty for `index`, remembering at most `capacity` events.
    init(index: TriggerIndex, capacity: Int = 100_000) {
        keys = BoundedSet(capacity: capacity)
        if index.triggers.contains(where: \.readsStatus) {
            skippableStatuses = []
        } else {
            // A finalized record releases held events, so it may be passed over only when nothing holds.
            let statuses: [Tributary_V1_FinalityStatus] =
                index.triggers.allSatisfy { $0.finality == .instant }
                ? [.pending, .confirmed, .finalized]
                : [.pending, .confirmed]
            skippableStatuses = Set(
                statuses.map { Array(TributaryRecordHeader.eventStatusValue(status: $0, removed: false).utf8) })
        }
    }

    /// Whether `record` can be passed over unread.
    func canSkip(_ record: LogRecord) -> Bool {
        guard !skippableStatuses.isEmpty, let key = record.key,
            record.headers.last(named: TributaryRecordHeader.eventRepeat) == Self.repeatValue,
            let status = record.headers.last(named: TributaryRecordHeader.eventStatus),
            skippableStatuses.contains(status)
        else { return false }
        return keys.contains(key)
    }

    /// Notes that `record` has been read and routed. `remember` is false for a retraction (if the
    /// block comes back after a reorg is undone, its records must be read again) and for an event
    /// a trigger holds (its later records bring the status it is released with, and move the
    /// offset commits wait for).
    mutating func routed(_ record: LogRecord, remember: Bool) {
        guard !skippableStatuses.isEmpty, let key = record.key else { return }
        if remember {
            keys.insert(key)
        } else {
            keys.remove(key)
        }
    }
}
