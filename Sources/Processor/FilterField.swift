/// A field of the canonical event that a filter path reads, resolved once at compile time.
enum FilterField: Sendable, Hashable {
    case id, chain, address, data, status, removed
    case blockNumber, blockHash, blockParentHash, blockTimestamp
    case transactionHash, transactionIndex, logIndex
    case eventName, eventSignature, eventABI
    /// All topics, as a list.
    case topics
    /// One topic by position.
    case topic(Int)
    /// A decoded argument, then optional steps into list elements or struct fields.
    case argument(FilterPathStep, rest: [FilterPathStep])

    /// What a field holds, as far as the compiler knows.
    enum Kind: Sendable {
        case number, text, bool, list
        /// Decoded arguments: the type is known only per event.
        case unknown
    }

    var kind: Kind {
        switch self {
        case .blockNumber, .blockTimestamp, .transactionIndex, .logIndex: return .number
        case .removed: return .bool
        case .topics: return .list
        case .argument: return .unknown
        default: return .text
        }
    }

    /// The values ``status`` can take.
    static let statusValues = ["unspecified", "pending", "confirmed", "finalized"]

    /// The roots a path may start with, for error messages and the documentation.
    static let roots = [
        "args", "event", "tx", "block", "log", "topics", "address", "chain", "status", "removed", "data", "id",
    ]

    private static let children: [String: [String: FilterField]] = [
        "event": ["name": .eventName, "signature": .eventSignature, "abi": .eventABI],
        "tx": ["hash": .transactionHash, "index": .transactionIndex],
        "block": [
            "number": .blockNumber, "hash": .blockHash, "parent_hash": .blockParentHash, "timestamp": .blockTimestamp,
        ],
        "log": ["index": .logIndex],
    ]

    private static let leaves: [String: FilterField] = [
        "address": .address, "chain": .chain, "status": .status, "removed": .removed, "data": .data, "id": .id,
    ]

    /// Resolves a path's parts to a field.
    ///
    /// - Parameters:
    ///   - components: The path's parts; at least one.
    ///   - position: The offset of the path's first character, for errors.
    ///   - source: The expression, for errors.
    /// - Throws: ``FilterError`` with code `unknownPath`, positioned at the offending part.
    init(components: [String], position: Int, source: String) throws(FilterError) {
        func offset(of index: Int) -> Int {
            let before = components.prefix(index).reduce(0) { $0 + $1.count + 1 }
            return position + (index < components.count ? before : before - 1)
        }
        func failure(_ reason: String, at index: Int, expected: [String], hint: String = "") -> FilterError {
            FilterError(
                .unknownPath, reason + " at position \(offset(of: index))" + hint, position: offset(of: index),
                expected: expected, source: source)
        }
        func noMoreParts(after count: Int) throws(FilterError) {
            guard components.count > count else { return }
            let prefix = components.prefix(count).joined(separator: ".")
            throw failure("'\(prefix)' has no field '\(components[count])'", at: count, expected: [])
        }
        let root = components[0]
        if let field = Self.leaves[root] {
            try noMoreParts(after: 1)
            self = field
        } else if let fields = Self.children[root] {
            let names = fields.keys.sorted()
            guard components.count > 1 else {
                throw failure(
                    "'\(root)' needs a field", at: 1, expected: names,
                    hint: "; it has \(names.joined(separator: ", "))")
            }
            guard let field = fields[components[1]] else {
                throw failure(
                    "unknown field '\(components[1])' of '\(root)'", at: 1, expected: names,
                    hint: "; it has \(names.joined(separator: ", "))")
            }
            try noMoreParts(after: 2)
            self = field
        } else if root == "topics" {
            if components.count == 1 {
                self = .topics
                return
            }
            guard let index = Int(components[1]), index < 1_000 else {
                throw failure(
                    "expected a topic index such as topics.0, found '\(components[1])'", at: 1, expected: ["an index"])
            }
            try noMoreParts(after: 2)
            self = .topic(index)
        } else if root == "args" {
            guard components.count > 1 else {
                throw failure(
                    "'args' needs an argument name or index", at: 1,
                    expected: ["an argument name", "an argument index"],
                    hint: ", as in args.value or args.0")
            }
            let steps = components.dropFirst().map(FilterPathStep.init)
            self = .argument(steps[0], rest: Array(steps.dropFirst()))
        } else {
            let hint: String
            if let keyword = FilterKeyword(rawValue: root.lowercased()), components.count == 1 {
                hint = " (keywords are lowercase: did you mean '\(keyword.rawValue)'?)"
            } else {
                hint = "; a path starts with one of " + Self.roots.joined(separator: ", ")
            }
            throw failure(
                "unknown path '\(components.joined(separator: "."))'", at: 0, expected: Self.roots, hint: hint)
        }
    }
}

/// One step of a path below `args`: a name, or an index into a list.
enum FilterPathStep: Sendable, Hashable {
    case name(String)
    case index(Int)

    init(_ component: String) {
        if let first = component.first, FilterLexer.isDigit(first), let index = Int(component) {
            self = .index(index)
        } else if let first = component.first, FilterLexer.isDigit(first) {
            self = .index(Int.max)
        } else {
            self = .name(component)
        }
    }
}

/// A path as written, with the field it resolved to.
struct FilterPathReference: Sendable, Hashable {
    let path: FilterPath
    let field: FilterField
}
