import TributaryModel

/// The recent canonical chain as the adapter emitted it: the last blocks (default 128) with
/// their logs, so a reorg can be answered with exact retractions.
///
/// Pure state: the adapter fetches headers and asks the window how they connect.
struct CanonicalChainWindow {
    /// How a new header relates to the window.
    enum Connection: Equatable {
        /// Its parent is the tip: append it.
        case extendsTip
        /// Already in the window with this hash: nothing to do.
        case known
        /// Its parent is not the tip: fetch the parent by hash and try again with the branch.
        case needsParent(hash: String)
        /// Its parent is the window block at `ancestor`: every block above it is orphaned.
        case forksAt(ancestor: UInt64)
        /// The fork is below the window: the adapter must stop rather than guess.
        case deeperThanWindow
        /// The window is empty: anything connects.
        case empty
    }

    /// What the window knows of an emitted block.
    struct EmittedBlock: Equatable {
        var number: UInt64
        var hash: String
        var parentHash: String
        var record: Tributary_V1_RawBlockRecord
    }

    let capacity: Int
    private(set) var blocks: [EmittedBlock] = []

    init(capacity: Int = 128) {
        self.capacity = max(1, capacity)
    }

    /// The highest emitted block.
    var tip: EmittedBlock? { blocks.last }

    /// How a header (number, hash, parent hash) connects.
    func connection(number: UInt64, hash: String, parentHash: String) -> Connection {
        guard let tip else { return .empty }
        if let known = block(at: number), known.hash == hash { return .known }
        if number == tip.number + 1 && parentHash == tip.hash { return .extendsTip }
        if let parent = blocks.last(where: { $0.hash == parentHash }) {
            return .forksAt(ancestor: parent.number)
        }
        guard let first = blocks.first else { return .empty }
        return number > first.number ? .needsParent(hash: parentHash) : .deeperThanWindow
    }

    /// The emitted block at `number`, if the window holds it.
    func block(at number: UInt64) -> EmittedBlock? {
        guard let first = blocks.first, number >= first.number, number - first.number < UInt64(blocks.count) else {
            return nil
        }
        return blocks[Int(number - first.number)]
    }

    /// Appends an emitted block on top of the tip, forgetting the oldest past the capacity.
    mutating func append(_ block: EmittedBlock) {
        precondition(tip.map { block.number == $0.number + 1 } ?? true, "blocks are appended in order")
        blocks.append(block)
        if blocks.count > capacity { blocks.removeFirst(blocks.count - capacity) }
    }

    /// Removes and returns the blocks above `ancestor`, newest first: those a reorg orphaned.
    mutating func truncate(above ancestor: UInt64) -> [EmittedBlock] {
        guard let index = blocks.firstIndex(where: { $0.number > ancestor }) else { return [] }
        let orphaned = blocks[index...].reversed()
        blocks.removeSubrange(index...)
        return Array(orphaned)
    }
}
