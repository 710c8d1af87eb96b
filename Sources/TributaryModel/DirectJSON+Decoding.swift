import Foundation
import SwiftProtobuf

extension DirectJSON {
    /// The canonical event in `json` when it is in the form Tributary writes: proto3-JSON with
    /// lowerCamelCase names, 64-bit integers quoted or bare, no member twice, no unknown member,
    /// argument values without numbers or objects. Anything else is nil, and the caller decodes
    /// with swift-protobuf, which then decides (a property test holds the two to the same result).
    public static func decodeEvent(_ json: [UInt8]) -> Tributary_V1_CanonicalEvent? {
        decodeEventNotingForm(json)?.event
    }

    /// The canonical event in `json` (see ``decodeEvent(_:)``), and whether `json` is compact
    /// (see ``decodeRequestKeepingEvent(_:)``): then the router puts `json` into invocation
    /// requests as it is instead of writing the event again.
    public static func decodeEventNotingForm(_ json: [UInt8]) -> (event: Tributary_V1_CanonicalEvent, compact: Bool)? {
        json.withUnsafeBufferPointer { buffer in
            var scanner = JSONScanner(buffer)
            guard let event = scanner.event(), scanner.atEnd() else { return nil }
            return (event, scanner.compact)
        }
    }

    /// The invocation request in `json` when it is in the form Tributary writes (see
    /// ``decodeEvent(_:)``; a direct invocation's raw `input` is left to swift-protobuf).
    public static func decodeRequest(_ json: [UInt8]) -> Tributary_V1_InvocationRequest? {
        json.withUnsafeBufferPointer { buffer in
            var scanner = JSONScanner(buffer)
            guard let (request, _) = scanner.request(checkingEventOnly: false), scanner.atEnd() else { return nil }
            return request
        }
    }

    /// The invocation request in `json` (see ``decodeRequest(_:)``), and its event's proto3-JSON
    /// as it stands in `json` when the record is compact: no whitespace, members in field order,
    /// 64-bit integers quoted and 32-bit ones bare, as Tributary writes them. A request the
    /// router made from a canonical event the processor wrote then carries exactly
    /// `encode(event)`; one whose event came from another writer may still differ in how
    /// strings are escaped and in members written at their default value, which proto3-JSON
    /// readers treat alike.
    ///
    /// When the event's JSON is returned, the request's event holds only its `id`, its status
    /// and its numbers: the event is checked as fully as ``decodeRequest(_:)`` checks it, but
    /// its strings, topics and decoded arguments are not made (the wasm host needs the id and
    /// hands the JSON to the function).
    public static func decodeRequestKeepingEvent(
        _ json: [UInt8]
    ) -> (request: Tributary_V1_InvocationRequest, eventJSON: ArraySlice<UInt8>?)? {
        let scanned = json.withUnsafeBufferPointer { buffer -> (Tributary_V1_InvocationRequest, Range<Int>?, Bool)? in
            var scanner = JSONScanner(buffer)
            guard let (request, eventRange) = scanner.request(checkingEventOnly: true), scanner.atEnd() else {
                return nil
            }
            return (request, eventRange, scanner.compact)
        }
        guard let (request, eventRange, compact) = scanned else { return nil }
        guard let eventRange else { return (request, nil) }
        if compact { return (request, json[eventRange]) }
        // Not compact: the event is written again for the function, so it is read in full.
        return decodeRequest(json).map { ($0, nil) }
    }
}

/// A strict reader of the JSON `DirectJSON` writes. Every method returns nil (or false) as soon
/// as the input leaves that form; callers then hand the whole record to swift-protobuf.
private struct JSONScanner {
    private let bytes: UnsafeBufferPointer<UInt8>
    private var index = 0
    /// Lists inside argument values nest without bound in JSON; past this depth the record goes
    /// to swift-protobuf, whose own recursion limit refuses it with an error instead of letting a
    /// hostile record exhaust the stack.
    private var listDepth = 0
    private static let maximumListDepth = 32
    /// Whether the input so far is compact as Tributary writes it (see `decodeRequestKeepingEvent`).
    private(set) var compact = true
    /// While set, strings are checked but not made (each reads as ""), except where a reader
    /// needs the text (`keptString`).
    private var checkingOnly = false

    init(_ bytes: UnsafeBufferPointer<UInt8>) {
        self.bytes = bytes
    }

    // MARK: Messages
    // Each member case reads its value and reports whether it could; `.map { … } != nil` stores it.

    /// The request, and where its event's value is in the input; with `checkingEventOnly`, the
    /// event's strings other than its id and status are checked but not made.
    mutating func request(checkingEventOnly: Bool) -> (Tributary_V1_InvocationRequest, Range<Int>?)? {
        var request = Tributary_V1_InvocationRequest()
        var eventRange: Range<Int>?
        let complete = readObject { scanner, key, members in
            switch true {
            case key.is("invocationId", &members, 0): scanner.string().map { request.invocationID = $0 } != nil
            case key.is("functionName", &members, 1): scanner.string().map { request.functionName = $0 } != nil
            case key.is("functionVersion", &members, 2): scanner.uint32().map { request.functionVersion = $0 } != nil
            case key.is("triggerId", &members, 3): scanner.string().map { request.triggerID = $0 } != nil
            case key.is("event", &members, 4):
                scanner.event(at: &eventRange, checkingOnly: checkingEventOnly).map { request.event = $0 } != nil
            case key.is("attempt", &members, 5): scanner.uint32().map { request.attempt = $0 } != nil
            case key.is("deadline", &members, 6):
                // RFC 3339 text; swift-protobuf parses the (escape-free) string itself.
                scanner.string().flatMap { text in
                    text.contains("\"") || text.contains("\\")
                        ? nil : try? Google_Protobuf_Timestamp(jsonString: "\"\(text)\"")
                }.map { request.deadline = $0 } != nil
            default: false
            }
        }
        return complete ? (request, eventRange) : nil
    }

    mutating func event() -> Tributary_V1_CanonicalEvent? {
        var event = Tributary_V1_CanonicalEvent()
        // While checking, the strings, topics and decoded arguments are read, not stored: each
        // store goes through the event's shared storage (an exclusivity check and a release).
        let keep = !checkingOnly
        let complete = readObject { scanner, key, members in
            switch true {
            case key.is("id", &members, 0): scanner.keptString().map { event.id = $0 } != nil
            case key.is("chainId", &members, 1): Self.read(scanner.string(), keep) { event.chainID = $0 }
            case key.is("blockNumber", &members, 2): scanner.uint64().map { event.blockNumber = $0 } != nil
            case key.is("blockHash", &members, 3): Self.read(scanner.string(), keep) { event.blockHash = $0 }
            case key.is("parentHash", &members, 4): Self.read(scanner.string(), keep) { event.parentHash = $0 }
            case key.is("blockTimestamp", &members, 5): scanner.uint64().map { event.blockTimestamp = $0 } != nil
            case key.is("transactionHash", &members, 6):
                Self.read(scanner.string(), keep) { event.transactionHash = $0 }
            case key.is("transactionIndex", &members, 7):
                scanner.uint32().map { event.transactionIndex = $0 } != nil
            case key.is("logIndex", &members, 8): scanner.uint32().map { event.logIndex = $0 } != nil
            case key.is("address", &members, 9): Self.read(scanner.string(), keep) { event.address = $0 }
            case key.is("topics", &members, 10): Self.read(scanner.array({ $0.string() }), keep) { event.topics = $0 }
            case key.is("data", &members, 11): Self.read(scanner.string(), keep) { event.data = $0 }
            case key.is("status", &members, 12):
                scanner.keptString().flatMap(Self.finalityStatus).map { event.status = $0 } != nil
            case key.is("removed", &members, 13): scanner.bool().map { event.removed = $0 } != nil
            case key.is("decoded", &members, 14): Self.read(scanner.decoded(), keep) { event.decoded = $0 }
            default: false
            }
        }
        return complete ? event : nil
    }

    /// The event, noting where its value is in the input.
    private mutating func event(at range: inout Range<Int>?, checkingOnly: Bool) -> Tributary_V1_CanonicalEvent? {
        skipWhitespace()
        let start = index
        self.checkingOnly = checkingOnly
        defer { self.checkingOnly = false }
        guard let event = event() else { return nil }
        range = start..<index
        return event
    }

    private mutating func decoded() -> Tributary_V1_DecodedEvent? {
        var decoded = Tributary_V1_DecodedEvent()
        let complete = readObject { scanner, key, members in
            switch true {
            case key.is("name", &members, 0): scanner.string().map { decoded.name = $0 } != nil
            case key.is("signature", &members, 1): scanner.string().map { decoded.signature = $0 } != nil
            case key.is("arguments", &members, 2):
                scanner.array({ $0.argument() }).map { decoded.arguments = $0 } != nil
            case key.is("abi", &members, 3): scanner.string().map { decoded.abi = $0 } != nil
            default: false
            }
        }
        return complete ? decoded : nil
    }

    private mutating func argument() -> Tributary_V1_DecodedArgument? {
        var argument = Tributary_V1_DecodedArgument()
        // While checking, nothing is stored: each stored field would allocate the argument's storage.
        let keep = !checkingOnly
        let complete = readObject { scanner, key, members in
            switch true {
            case key.is("name", &members, 0): Self.read(scanner.string(), keep) { argument.name = $0 }
            case key.is("type", &members, 1): Self.read(scanner.string(), keep) { argument.type = $0 }
            case key.is("indexed", &members, 2): Self.read(scanner.bool(), keep) { argument.indexed = $0 }
            case key.is("value", &members, 3): Self.read(scanner.value(), keep) { argument.value = $0 }
            case key.is("checksummed", &members, 4): Self.read(scanner.string(), keep) { argument.checksummed = $0 }
            default: false
            }
        }
        return complete ? argument : nil
    }

    /// Whether `value` was read; hands it to `store` when `keep`.
    private static func read<Value>(_ value: Value?, _ keep: Bool, _ store: (Value) -> Void) -> Bool {
        guard let value else { return false }
        if keep { store(value) }
        return true
    }

    /// A JSON value as `google.protobuf.Value`: strings, booleans, null and lists of those.
    private mutating func value() -> Google_Protobuf_Value? {
        skipWhitespace()
        guard index < bytes.count else { return nil }
        var value = Google_Protobuf_Value()
        let keep = !checkingOnly  // while checking, the value is read, not made
        switch bytes[index] {
        case UInt8(ascii: "\""):
            guard let text = string() else { return nil }
            if keep { value.stringValue = text }
        case UInt8(ascii: "t"), UInt8(ascii: "f"):
            guard let flag = bool() else { return nil }
            if keep { value.boolValue = flag }
        case UInt8(ascii: "n"):
            guard literal("null") else { return nil }
            if keep { value.nullValue = .nullValue }
        case UInt8(ascii: "["):
            guard listDepth < Self.maximumListDepth else { return nil }
            listDepth += 1
            defer { listDepth -= 1 }
            guard let values = array({ $0.value() }) else { return nil }
            if keep { value.listValue = Google_Protobuf_ListValue(values: values) }
        default: return nil  // numbers and objects: swift-protobuf's parsing rules
        }
        return value
    }

    /// The status named `name`, by the encoder's table (which writes the default as "": not a
    /// name a record can carry, so left to swift-protobuf).
    private static func finalityStatus(_ name: String) -> Tributary_V1_FinalityStatus? {
        if name == "FINALITY_STATUS_UNSPECIFIED" { return .unspecified }
        guard !name.isEmpty else { return nil }
        return Tributary_V1_FinalityStatus.allCases.first { DirectJSON.statusName($0) == name }
    }

    // MARK: Structure

    /// Which members an object had, to refuse one given twice.
    struct MemberSet {
        var seen: UInt32 = 0
        var malformed = false
        /// Whether the members came in field order (as Tributary writes them).
        var inOrder = true
    }

    /// Reads an object, handing each member to `member` with the scanner at its value; false
    /// when `member` refuses one (unknown, repeated or unreadable) or the object is malformed.
    private mutating func readObject(_ member: (inout JSONScanner, Key, inout MemberSet) -> Bool) -> Bool {
        var members = MemberSet()
        guard open() else { return false }
        var first = true
        while let key = nextKey(&first) {
            guard member(&self, key, &members) else { return false }
        }
        if !members.inOrder { compact = false }
        return !members.malformed
    }

    /// A member name, as a range of the input (names with escapes are refused).
    struct Key {
        let bytes: UnsafeBufferPointer<UInt8>

        /// Whether this is `name`; marks the member seen, and the object malformed when it was
        /// seen before.
        func `is`(_ name: StaticString, _ members: inout MemberSet, _ bit: UInt32) -> Bool {
            // The first byte tells most names of one length apart without a call to memcmp.
            guard bytes.count == name.utf8CodeUnitCount, bytes.count > 0, bytes[0] == name.utf8Start[0],
                memcmp(bytes.baseAddress!, name.utf8Start, bytes.count) == 0
            else { return false }
            if members.seen & (1 << bit) != 0 { members.malformed = true }
            if members.seen >> bit != 0 { members.inOrder = false }  // a later field came first
            members.seen |= 1 << bit
            return !members.malformed
        }
    }

    private mutating func open() -> Bool { consume(UInt8(ascii: "{")) }

    /// The next member's name, with the scanner at its value; nil after the closing brace or
    /// when the object is malformed (then the caller's result is discarded by `atEnd` or the
    /// member switch).
    private mutating func nextKey(_ first: inout Bool) -> Key? {
        if consume(UInt8(ascii: "}")) { return nil }
        if first {
            first = false
        } else if !consume(UInt8(ascii: ",")) {
            index = bytes.count + 1  // malformed: `atEnd` can no longer succeed
            return nil
        }
        skipWhitespace()
        guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else {
            index = bytes.count + 1
            return nil
        }
        let start = index + 1
        var end = start
        while end < bytes.count, bytes[end] != UInt8(ascii: "\""), bytes[end] != UInt8(ascii: "\\") { end += 1 }
        guard end < bytes.count, bytes[end] == UInt8(ascii: "\"") else {
            index = bytes.count + 1
            return nil
        }
        index = end + 1
        guard consume(UInt8(ascii: ":")) else {
            index = bytes.count + 1
            return nil
        }
        return Key(bytes: UnsafeBufferPointer(rebasing: bytes[start..<end]))
    }

    /// The elements of an array; while `checkingOnly`, they are read and none is kept.
    private mutating func array<Element>(_ element: (inout JSONScanner) -> Element?) -> [Element]? {
        guard consume(UInt8(ascii: "[")) else { return nil }
        var elements: [Element] = []
        if consume(UInt8(ascii: "]")) { return elements }
        repeat {
            guard let next = element(&self) else { return nil }
            if !checkingOnly { elements.append(next) }
        } while consume(UInt8(ascii: ","))
        return consume(UInt8(ascii: "]")) ? elements : nil
    }

    // MARK: Scalars

    /// A string the caller needs even while `checkingOnly`.
    private mutating func keptString() -> String? {
        let checking = checkingOnly
        checkingOnly = false
        defer { checkingOnly = checking }
        return string()
    }

    private mutating func string() -> String? {
        skipWhitespace()
        guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { return nil }
        index += 1
        let start = index
        var ascii = true
        index = plainASCIIWordsEnd(from: index)
        // Most strings (hex, ids, names) have no escapes: validated and copied in one step.
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                index += 1
                let content = UnsafeBufferPointer(rebasing: bytes[start..<index - 1])
                // ASCII without escapes or controls is valid UTF-8 as it is: made without the
                // validating initializer, which is generic over the encoding and not specialized.
                if ascii { return checkingOnly ? "" : String(decoding: content, as: UTF8.self) }
                let text = String(validating: content, as: UTF8.self)
                return checkingOnly ? text.map { _ in "" } : text
            }
            if byte == UInt8(ascii: "\\") || byte < 0x20 { break }
            if byte >= 0x80 { ascii = false }
            index += 1
        }
        var text = Array(bytes[start..<index])
        while index < bytes.count {
            let byte = bytes[index]
            index += 1
            switch byte {
            case UInt8(ascii: "\""): return String(validating: text, as: UTF8.self).map { checkingOnly ? "" : $0 }
            case 0..<0x20: return nil  // raw control characters are not JSON
            case UInt8(ascii: "\\"):
                guard index < bytes.count else { return nil }
                let escape = bytes[index]
                index += 1
                switch escape {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): text.append(escape)
                case UInt8(ascii: "b"): text.append(8)
                case UInt8(ascii: "f"): text.append(12)
                case UInt8(ascii: "n"): text.append(10)
                case UInt8(ascii: "r"): text.append(13)
                case UInt8(ascii: "t"): text.append(9)
                case UInt8(ascii: "u"):
                    // Surrogate pairs and lone surrogates: swift-protobuf's rules.
                    guard let unit = hex4(), !(0xD800...0xDFFF).contains(unit), let scalar = Unicode.Scalar(unit)
                    else { return nil }
                    text += Array(String(Character(scalar)).utf8)
                default: return nil
                }
            default: text.append(byte)
            }
        }
        return nil
    }

    /// How far the plain bytes from `start` on go, eight at a time: every byte before the
    /// returned index is ASCII and neither a quote, a backslash nor a control character; the
    /// caller's byte loop reads on from there. Strings (hashes, addresses, data) are most of a
    /// record, and nearly all of their bytes are plain.
    private func plainASCIIWordsEnd(from start: Int) -> Int {
        var index = start
        guard let base = bytes.baseAddress else { return index }
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highBits: UInt64 = 0x8080_8080_8080_8080
        while index + 8 <= bytes.count {
            let word = UnsafeRawPointer(base + index).loadUnaligned(as: UInt64.self)
            // A byte's high bit is set in `x &- ones & ~x` where a byte of x is zero, in
            // `word &- 0x20 * ones` where a byte of an all-ASCII word is below 0x20, and in
            // `word` where a byte is not ASCII. A borrow can only mark bytes after the first
            // special one, so such a word is left to the byte loop.
            let quote = word ^ (ones &* 0x22)
            let backslash = word ^ (ones &* 0x5C)
            let special =
                ((quote &- ones) & ~quote) | ((backslash &- ones) & ~backslash) | (word &- ones &* 0x20) | word
            if special & highBits != 0 { break }
            index += 8
        }
        return index
    }

    private mutating func hex4() -> UInt32? {
        guard index + 4 <= bytes.count else { return nil }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[index]
            index += 1
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: return nil
            }
            value = value << 4 | UInt32(digit)
        }
        return value
    }

    /// A 64-bit unsigned integer (compact when quoted, as proto3-JSON writes 64-bit integers).
    private mutating func uint64() -> UInt64? {
        guard let (value, quoted) = unsigned() else { return nil }
        if !quoted { compact = false }
        return value
    }

    /// A 32-bit unsigned integer (compact when bare).
    private mutating func uint32() -> UInt32? {
        guard let (value, quoted) = unsigned(), let narrow = UInt32(exactly: value) else { return nil }
        if quoted { compact = false }
        return narrow
    }

    /// An unsigned integer, quoted or bare, plain decimal digits without leading zeros.
    private mutating func unsigned() -> (value: UInt64, quoted: Bool)? {
        skipWhitespace()
        guard index < bytes.count else { return nil }
        let quoted = bytes[index] == UInt8(ascii: "\"")
        if quoted { index += 1 }
        let start = index
        var value: UInt64 = 0
        while index < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) {
            let (times10, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times10.addingReportingOverflow(UInt64(bytes[index] - UInt8(ascii: "0")))
            guard !overflow1, !overflow2 else { return nil }
            value = sum
            index += 1
        }
        let digits = index - start
        guard digits > 0, digits == 1 || bytes[start] != UInt8(ascii: "0") else { return nil }
        if quoted {
            guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { return nil }
            index += 1
        } else if index < bytes.count {
            // 1.0, 1e3: swift-protobuf's rules (a switch: an array literal here allocated per number).
            switch bytes[index] {
            case UInt8(ascii: "."), UInt8(ascii: "e"), UInt8(ascii: "E"): return nil
            default: break
            }
        }
        return (value, quoted)
    }

    private mutating func bool() -> Bool? {
        if literal("true") { return true }
        if literal("false") { return false }
        return nil
    }

    private mutating func literal(_ word: StaticString) -> Bool {
        skipWhitespace()
        let count = word.utf8CodeUnitCount
        guard index + count <= bytes.count, memcmp(bytes.baseAddress! + index, word.utf8Start, count) == 0 else {
            return false
        }
        index += count
        return true
    }

    private mutating func consume(_ byte: UInt8) -> Bool {
        skipWhitespace()
        guard index < bytes.count, bytes[index] == byte else { return false }
        index += 1
        return true
    }

    private mutating func skipWhitespace() {
        while index < bytes.count,
            bytes[index] == 0x20 || bytes[index] == 0x0A || bytes[index] == 0x0D || bytes[index] == 0x09
        {
            index += 1
            compact = false
        }
    }

    /// Whether only whitespace is left.
    mutating func atEnd() -> Bool {
        skipWhitespace()
        return index == bytes.count
    }
}
