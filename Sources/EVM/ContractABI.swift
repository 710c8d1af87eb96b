#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The events of a contract's Solidity JSON ABI.
///
/// Parses the standard JSON ABI (an array of entries, or an object with an `abi` array as in
/// Hardhat/Truffle artifacts). Entries of `"type": "event"` become ``EventDefinition``s; other
/// entries (functions, constructor, errors, fallback, receive) are skipped after checking they
/// are objects.
public struct ContractABI: Sendable, Hashable {
    /// The events in document order.
    public let events: [EventDefinition]

    /// Creates an ABI from event definitions.
    /// - Parameter events: The events.
    public init(events: [EventDefinition]) {
        self.events = events
    }

    /// Parses JSON ABI text.
    ///
    /// - Parameter json: The JSON document.
    /// - Throws: ``EVMError`` with ``EVMError/Code/invalidABI`` naming the entry (index and name)
    ///   and field that is missing or mistyped, or ``EVMError/Code/invalidType`` /
    ///   ``EVMError/Code/invalidSignature`` for an invalid parameter type or event.
    public init(json: String) throws {
        try self.init(jsonData: Array(json.utf8))
    }

    /// Parses JSON ABI bytes (UTF-8); see ``init(json:)``.
    ///
    /// - Parameter jsonData: The JSON document.
    /// - Throws: As ``init(json:)``.
    public init(jsonData: some Collection<UInt8>) throws {
        let document: JSONValue
        do {
            document = try JSONDecoder().decode(JSONValue.self, from: Data(jsonData))
        } catch {
            throw EVMError(.invalidABI, "the ABI is not valid JSON: \(error)")
        }
        let entries: [JSONValue]
        switch document {
        case .array(let array): entries = array
        case .object(let object):
            guard case .array(let array)? = object["abi"] else {
                throw EVMError(
                    .invalidABI, "the ABI must be a JSON array of entries (or an object with an \"abi\" array)")
            }
            entries = array
        default:
            throw EVMError(.invalidABI, "the ABI must be a JSON array of entries, got \(document.kind)")
        }
        var events: [EventDefinition] = []
        for (index, entry) in entries.enumerated() {
            guard case .object(let fields) = entry else {
                throw EVMError(.invalidABI, "entry \(index) must be an object, got \(entry.kind)")
            }
            let type = try Self.string(fields, "type", entry: index, default: "function")
            guard type == "event" else { continue }
            let name = try Self.string(fields, "name", entry: index, default: nil)
            let context = "entry \(index) (event '\(name)')"
            let anonymous = try Self.bool(fields, "anonymous", context: context)
            guard case .array(let inputs) = fields["inputs"] ?? .array([]) else {
                throw EVMError(.invalidABI, "\(context): field \"inputs\" must be an array")
            }
            var parameters: [EventParameter] = []
            for (inputIndex, input) in inputs.enumerated() {
                let inputContext = "\(context) inputs[\(inputIndex)]"
                guard case .object(let inputFields) = input else {
                    throw EVMError(.invalidABI, "\(inputContext) must be an object")
                }
                let component = try Self.component(inputFields, context: inputContext, depth: 0)
                let indexed = try Self.bool(inputFields, "indexed", context: inputContext)
                parameters.append(EventParameter(name: component.name, type: component.type, indexed: indexed))
            }
            do {
                events.append(try EventDefinition(name: name, parameters: parameters, anonymous: anonymous))
            } catch let error as EVMError {
                throw error.prefixed("entry \(index)")
            }
        }
        self.events = events
    }

    /// The first event named `name` (events may be overloaded; see ``events``).
    /// - Parameter name: The event name.
    public func event(named name: String) -> EventDefinition? {
        events.first { $0.name == name }
    }

    private static func component(
        _ fields: [String: JSONValue], context: String, depth: Int
    ) throws -> ABIType.Component {
        guard depth <= ABIType.maximumNestingDepth else {
            throw EVMError(.invalidABI, "\(context): components nest deeper than \(ABIType.maximumNestingDepth) levels")
        }
        let name: String
        switch fields["name"] {
        case nil, .null?: name = ""
        case .string(let text)?: name = text
        case let other?: throw EVMError(.invalidABI, "\(context): field \"name\" must be a string, got \(other.kind)")
        }
        guard case .string(let typeText)? = fields["type"] else {
            throw EVMError(.invalidABI, "\(context): field \"type\" is missing or not a string")
        }
        var components: [ABIType.Component]? = nil
        if typeText.hasPrefix("tuple") {
            guard case .array(let list)? = fields["components"] else {
                throw EVMError(.invalidABI, "\(context): type \"\(typeText)\" needs a \"components\" array")
            }
            var parsed: [ABIType.Component] = []
            for (index, item) in list.enumerated() {
                guard case .object(let itemFields) = item else {
                    throw EVMError(.invalidABI, "\(context) components[\(index)] must be an object")
                }
                parsed.append(try component(itemFields, context: "\(context) components[\(index)]", depth: depth + 1))
            }
            components = parsed
        }
        do {
            return ABIType.Component(name: name, type: try ABIType(parsing: typeText, components: components))
        } catch let error as EVMError {
            throw error.prefixed("\(context) type \"\(typeText)\"")
        }
    }

    private static func string(
        _ fields: [String: JSONValue], _ key: String, entry: Int, default defaultValue: String?
    ) throws -> String {
        switch fields[key] {
        case .string(let text)?: return text
        case nil:
            guard let defaultValue else { throw EVMError(.invalidABI, "entry \(entry): field \"\(key)\" is missing") }
            return defaultValue
        case let other?:
            throw EVMError(.invalidABI, "entry \(entry): field \"\(key)\" must be a string, got \(other.kind)")
        }
    }

    private static func bool(_ fields: [String: JSONValue], _ key: String, context: String) throws -> Bool {
        switch fields[key] {
        case nil, .null?: return false
        case .bool(let flag)?: return flag
        case let other?:
            throw EVMError(.invalidABI, "\(context): field \"\(key)\" must be a boolean, got \(other.kind)")
        }
    }
}

/// A generic JSON document, for field-by-field validation with precise errors.
private enum JSONValue: Decodable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let flag = try? container.decode(Bool.self) {
            self = .bool(flag)
        } else if let number = try? container.decode(Double.self) {
            self = .number(number)
        } else if let text = try? container.decode(String.self) {
            self = .string(text)
        } else if let array = try? container.decode([JSONValue].self) {
            self = .array(array)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }

    var kind: String {
        switch self {
        case .null: "null"
        case .bool: "a boolean"
        case .number: "a number"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        }
    }
}
