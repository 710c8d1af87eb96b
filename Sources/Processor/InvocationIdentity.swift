import EVM

/// Deterministic invocation ids, so a redelivered invocation carries the id of the first one.
///
/// The id is the keccak-256 (hex, 64 digits) of the NUL-separated function name, function
/// version, event id and trigger id, plus `retract` for the invocation a retraction causes
/// (which is a different invocation from the original sighting's).
public enum InvocationIdentity {
    /// The id of invoking `functionName`@`functionVersion` for `eventID` through `triggerID`.
    public static func invocationID(
        functionName: String, functionVersion: UInt32, eventID: String, triggerID: String, retraction: Bool
    ) -> String {
        var hasher = Keccak256()
        for part in [functionName, String(functionVersion), eventID, triggerID] {
            hasher.update(Array(part.utf8))
            hasher.update([0])
        }
        if retraction { hasher.update(Array("retract".utf8)) }
        return Hex.encode(hasher.finalize(), prefix: false)
    }
}
