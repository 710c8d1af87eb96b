/// Dead-letter records: a record a role could not handle, moved to `<topic>.dlq` with its
/// original key, value and headers, plus headers saying where it came from and why.
public enum DeadLetter {
    /// Header with the human-readable reason.
    public static let reasonHeader = "tributary-dlq-reason"
    /// Header with the original `topic[partition]@offset`.
    public static let sourceHeader = "tributary-dlq-source"
    /// Header with the role that gave up on it.
    public static let roleHeader = "tributary-dlq-role"

    /// The dead-letter record for `record`: same key, value and headers, appended to
    /// `<topic>.dlq`, with reason, source position and role headers added.
    public static func record(for record: LogRecord, reason: String, role: String) -> OutgoingRecord {
        OutgoingRecord(
            topic: record.topic + ".dlq", key: record.key, value: record.value,
            headers: record.headers + [
                RecordHeader(name: reasonHeader, text: reason),
                RecordHeader(name: sourceHeader, text: record.position.description),
                RecordHeader(name: roleHeader, text: role),
            ])
    }
}
