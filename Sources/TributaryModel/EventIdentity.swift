/// Deterministic event identity: `<caip2-chain>:<blockHash>:<logIndex>`, so every record about
/// one log — first sighting, status changes, retraction, redelivery — carries the same id.
public enum EventIdentity {
    /// The id of the log at `logIndex` in block `blockHash` of `chainID`.
    public static func eventID(chainID: String, blockHash: String, logIndex: UInt32) -> String {
        "\(chainID):\(blockHash.lowercased()):\(logIndex)"
    }

    /// Checks a CAIP-2 chain id (`namespace:reference`, for example `eip155:1`).
    ///
    /// - Throws: ``ModelError`` `.invalidValue` naming the expected form.
    public static func validateChainID(_ chainID: String) throws {
        let parts = chainID.split(separator: ":", omittingEmptySubsequences: false)
        let namespaceOK =
            parts.first.map {
                (3...8).contains($0.count) && $0.allSatisfy { $0.isLowercase || $0.isNumber || $0 == "-" }
            } ?? false
        let referenceOK =
            parts.count == 2 && (1...32).contains(parts[1].count)
            && parts[1].allSatisfy { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }
        guard namespaceOK && referenceOK else {
            throw ModelError(.invalidValue, "'\(chainID)' is not a CAIP-2 chain id such as 'eip155:1'")
        }
    }
}
