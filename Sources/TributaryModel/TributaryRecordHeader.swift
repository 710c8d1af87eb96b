/// Headers Tributary writes on its records besides `content-type` (``RecordEncoding/headerName``).
/// Their values are ASCII text.
public enum TributaryRecordHeader {
    /// On `raw-events`: what a record is — `block` (a block's first production, or the same again
    /// after a crash), `status` (a finality transition of a block produced before) or `retraction`.
    public static let recordKind = "tributary-record-kind"
    /// The values of ``recordKind``.
    public enum RecordKind {
        /// A block's first production, or the same again after a crash.
        public static let block = "block"
        /// A finality transition of a block produced before.
        public static let status = "status"
        /// A retraction of a block produced before.
        public static let retraction = "retraction"
    }
    /// On `canonical-events`: where the record stands in its event's life — `pending`, `confirmed`
    /// or `finalized` (the event's status), `removed` (a retraction), or `unrecognized` (a status
    /// this version does not know) — so a consumer can tell without reading the value.
    public static let eventStatus = "tributary-event-status"
    /// On `canonical-events`, value `true`: the record's event is the one the processor wrote in its
    /// previous record of this event, but for `status` and `removed` — a finality transition or
    /// retraction of a block it had normalized, not normalized again (so not decoded with other
    /// ABIs either). Absent when the event was normalized afresh.
    public static let eventRepeat = "tributary-event-repeat"

    /// The ``eventStatus`` value of an event with `status` and `removed`.
    public static func eventStatusValue(status: Tributary_V1_FinalityStatus, removed: Bool) -> String {
        if removed { return "removed" }
        switch status {
        case .unspecified, .pending: return "pending"
        case .confirmed: return "confirmed"
        case .finalized: return "finalized"
        case .UNRECOGNIZED: return "unrecognized"
        }
    }
}
