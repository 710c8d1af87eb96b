/// Compile-time checks for comparisons whose outcome is fixed by the operands' kinds, such as
/// `removed > 1` or `block.number == "abc"`. Decoded arguments have no static kind and are never rejected here.
enum FilterTypeCheck {
    /// What the compiler knows about an operand.
    private enum Kind {
        case number
        /// Text; `numeric` when it reads as a decimal or hex number (so it can be compared with numbers).
        case text(numeric: Bool)
        case bool, list, unknown
    }

    private static func kind(of operand: FilterOperand) -> Kind {
        switch operand {
        case .literal(.number): return .number
        case .literal(.text(let text)): return .text(numeric: text.number != nil)
        case .literal(.bool): return .bool
        case .path(let reference):
            switch reference.field.kind {
            case .number: return .number
            // Hashes and addresses are hex and so may be compared with numbers; other text fields are not numeric.
            case .text: return .text(numeric: Self.isHexField(reference.field))
            case .bool: return .bool
            case .list: return .list
            case .unknown: return .unknown
            }
        }
    }

    private static func isHexField(_ field: FilterField) -> Bool {
        switch field {
        case .address, .data, .blockHash, .blockParentHash, .transactionHash, .topic: return true
        default: return false
        }
    }

    private static func describe(_ kind: Kind) -> String {
        switch kind {
        case .number: return "a number"
        case .text: return "text"
        case .bool: return "a boolean"
        case .list: return "a list"
        case .unknown: return "a value"
        }
    }

    /// Whether a lone operand may serve as a condition: booleans and decoded arguments (true when `true`).
    static func canStandAlone(_ operand: FilterOperand) -> Bool {
        switch kind(of: operand) {
        case .bool, .unknown: return true
        default: return false
        }
    }

    /// Rejects `lhs comparison rhs` when it can never be true (or never be false).
    ///
    /// - Throws: ``FilterError`` with code `typeMismatch` or `invalidValue`, positioned at `position`.
    static func comparison(
        _ lhs: FilterOperand, _ comparison: FilterComparison, _ rhs: FilterOperand, position: Int, source: String
    ) throws(FilterError) {
        let left = kind(of: lhs)
        let right = kind(of: rhs)
        func mismatch(_ reason: String) -> FilterError {
            FilterError(
                .typeMismatch, "\(reason) at position \(position)", position: position, source: source)
        }
        if comparison.isOrdering {
            for (operand, kind) in [(lhs, left), (rhs, right)] {
                switch kind {
                case .bool, .list, .text(numeric: false):
                    throw mismatch(
                        "'\(comparison.rawValue)' compares numbers, but '\(operand.description)' is \(describe(kind))")
                default: break
                }
            }
            if case .text = left, case .text = right {
                throw mismatch("'\(comparison.rawValue)' needs a number on at least one side")
            }
            return
        }
        switch (left, right) {
        case (.unknown, _), (_, .unknown), (.number, .number), (.bool, .bool), (.list, .list),
            (.number, .text(numeric: true)), (.text(numeric: true), .number):
            break
        case (.text, .text):
            try checkStatus(lhs, rhs, position: position, source: source)
            try checkStatus(rhs, lhs, position: position, source: source)
        default:
            var reason =
                "'\(lhs.description)' is \(describe(left)) and '\(rhs.description)' is \(describe(right)),"
                + " so '\(comparison.rawValue)' is always \(comparison == .notEqual)"
            if case .list = left { reason += "; use 'contains' to look inside a list" }
            throw mismatch(reason)
        }
    }

    /// Rejects `status == "x"` for an `x` that is not a status name.
    private static func checkStatus(
        _ path: FilterOperand, _ literal: FilterOperand, position: Int, source: String
    ) throws(FilterError) {
        guard case .path(let reference) = path, reference.field == .status,
            case .literal(.text(let text)) = literal, !FilterField.statusValues.contains(text.value)
        else { return }
        throw FilterError(
            .invalidValue,
            "status is one of \(FilterField.statusValues.joined(separator: ", ")), not \(literal.description)"
                + " (at position \(position))", position: position, expected: FilterField.statusValues, source: source)
    }

    /// Rejects `contains`, `starts_with` and `ends_with` on operands that can never match.
    ///
    /// - Throws: ``FilterError`` with code `typeMismatch`, positioned at `position`.
    static func textOperation(
        _ lhs: FilterOperand, _ operation: FilterTextOperation, _ rhs: FilterOperand, position: Int, source: String
    ) throws(FilterError) {
        let left = kind(of: lhs)
        let right = kind(of: rhs)
        func mismatch(_ reason: String) -> FilterError {
            FilterError(.typeMismatch, "\(reason) at position \(position)", position: position, source: source)
        }
        switch left {
        case .bool:
            throw mismatch("'\(operation.rawValue)' needs text or a list, but '\(lhs.description)' is a boolean")
        case .list where operation != .contains:
            throw mismatch("'\(operation.rawValue)' needs text, but '\(lhs.description)' is a list; use 'contains'")
        case .list, .unknown:
            return
        default:
            switch right {
            case .bool, .list:
                throw mismatch(
                    "'\(operation.rawValue)' looks for text, but '\(rhs.description)' is \(describe(right))")
            default:
                return
            }
        }
    }
}
