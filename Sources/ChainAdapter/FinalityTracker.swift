import TributaryModel

/// Which emitted blocks change finality status as the chain moves: `pending` at the head,
/// `confirmed` once `confirmations` blocks (the block itself included) are on top, `finalized`
/// once the chain's `finalized` tag reaches it. Each transition is emitted once, in block order.
struct FinalityTracker {
    /// A block whose status changed.
    struct Transition: Equatable {
        var number: UInt64
        var hash: String
        var status: Tributary_V1_FinalityStatus
    }

    let confirmations: UInt64
    /// Emitted blocks not yet finalized: number → (hash, status).
    private(set) var open: [UInt64: (hash: String, status: Tributary_V1_FinalityStatus)] = [:]

    init(confirmations: UInt64) {
        self.confirmations = max(1, confirmations)
    }

    /// Starts tracking a block emitted with `status`.
    mutating func emitted(number: UInt64, hash: String, status: Tributary_V1_FinalityStatus) {
        if status != .finalized { open[number] = (hash, status) }
    }

    /// Stops tracking blocks above `ancestor` (a reorg orphaned them).
    mutating func orphan(above ancestor: UInt64) {
        open = open.filter { $0.key <= ancestor }
    }

    /// The transitions implied by `head` and the chain's `finalized` block number.
    mutating func advance(head: UInt64, finalized: UInt64?) -> [Transition] {
        var transitions: [Transition] = []
        for number in open.keys.sorted() {
            guard let entry = open[number] else { continue }
            if let finalized, number <= finalized {
                transitions.append(Transition(number: number, hash: entry.hash, status: .finalized))
                open.removeValue(forKey: number)
            } else if entry.status == .pending, head >= number, head - number + 1 >= confirmations {
                transitions.append(Transition(number: number, hash: entry.hash, status: .confirmed))
                open[number] = (entry.hash, .confirmed)
            }
        }
        return transitions
    }
}
