// Tributary.swift — Embedded Swift guest SDK for Tributary functions on the raw ABI
// (docs/function-abi.md). The Swift counterpart of sdk/c/tributary.h: compile it together with the
// function, in one module, with the toolchain's swiftc (examples/build does):
//
//   swiftc -target wasm32-unknown-none-wasm -enable-experimental-feature Embedded \
//     -enable-experimental-feature Extern -wmo -Osize -parse-as-library \
//     -Xfrontend -disable-stack-protector fn.swift sdk/swift/Tributary.swift \
//     -Xclang-linker -nostdlib -Xlinker --no-entry -Xlinker --stack-first -Xlinker --strip-debug \
//     -o fn.wasm
//
// A function exports its entry and reads the input, which is the invocation JSON:
//
//   @_expose(wasm, "handle")
//   @_cdecl("handle")  // C calling convention: (i32, i32) -> i32, not Swift's
//   func handle(_ pointer: UnsafePointer<UInt8>?, _ length: Int32) -> Int32 {
//       guard let input = Tributary.input(pointer, length), let json = JSON.parse(input) else { return 1 }
//       Tributary.output("{\"ok\":true}")
//       return 0  // anything else reports failure
//   }
//
// Linking this file exports `alloc` (a bump allocator), so the host pushes the input.
//
// Nothing here allocates from a Swift heap: there is no libc, so Array, String interpolation and
// classes would need `posix_memalign` and `free`, which this SDK does not define. Work on
// `ByteSpan`s (views of the input) and `StaticString`s, and build output in an `OutputBuffer`.
//
// The JSON helpers view the raw text of JSON values and never read outside it, whatever the
// bytes are: the input comes from chains and callers, so it is treated as hostile. They do not
// decode escapes: keys and strings compare byte for byte with their raw JSON text, which is exact
// for everything Tributary itself writes (names, hex, decimal strings).

// MARK: - Host imports (module "tributary")

// `@_extern(c)` is required: without it the imports get Swift's calling convention and extra
// parameters, and the host refuses the module (invalid_module).

@_extern(wasm, module: "tributary", name: "input_len")
@_extern(c)
func tributaryInputLength() -> Int32

@_extern(wasm, module: "tributary", name: "get_input")
@_extern(c)
func tributaryGetInput(_ destination: UnsafeMutableRawPointer)

@_extern(wasm, module: "tributary", name: "set_output")
@_extern(c)
func tributarySetOutput(_ data: UnsafeRawPointer, _ length: Int32)

@_extern(wasm, module: "tributary", name: "log")
@_extern(c)
func tributaryLog(_ level: Int32, _ message: UnsafeRawPointer, _ length: Int32)

// Swift has no memory.size/memory.grow API; LLVM treats calls to these names as the intrinsics.
@_extern(c, "llvm.wasm.memory.size.i32")
func wasmMemorySize(_ memory: Int32) -> Int32
@_extern(c, "llvm.wasm.memory.grow.i32")
func wasmMemoryGrow(_ memory: Int32, _ pages: Int32) -> Int32

/// wasm-ld's symbol for the first byte after the static data and the stack: the heap starts here.
@_extern(c, "__heap_base")
nonisolated(unsafe) var heapBase: UInt8

/// The next free heap address (0 until the first allocation). Never reset or freed: every
/// invocation runs in a fresh instance, so the heap only has to last one call.
nonisolated(unsafe) var heapNext: UInt64 = 0

/// The host calls this for the input buffer (push placement). Out of memory it traps instead of
/// returning 0: the trap after a refused memory.grow is reported as status memory_limit.
@_expose(wasm, "alloc")
@_cdecl("alloc")
func tributaryAllocExport(_ size: Int32) -> UnsafeMutableRawPointer {
    guard size >= 0, let buffer = Tributary.allocate(byteCount: Int(size)) else { fatalError() }
    return buffer
}

// MARK: - Input, output, logs

/// The host interface: input, output, logs and the heap.
public enum Tributary {
    /// Log levels of the `log` import.
    public enum LogLevel: Int32 {
        case debug = 0, info, warn, error
    }

    /// The input, whichever placement the host used: pass the entry's arguments. `(pointer,
    /// length)` when the host pushed it through `alloc`; for `entry(0, 0)` it is pulled with
    /// `input_len`/`get_input` into the heap. `nil` when it cannot be had.
    public static func input(_ pointer: UnsafePointer<UInt8>?, _ length: Int32) -> ByteSpan? {
        if pointer != nil || length != 0 {
            guard let pointer, length >= 0 else { return nil }
            return ByteSpan(base: pointer, count: Int(length))
        }
        let length = tributaryInputLength()
        guard length >= 0, let buffer = allocate(byteCount: Int(length)) else { return nil }
        tributaryGetInput(buffer)
        return ByteSpan(base: UnsafePointer(buffer.assumingMemoryBound(to: UInt8.self)), count: Int(length))
    }

    /// Sets (replaces) the output. Over the function's output limit: status output_too_large.
    public static func output(_ bytes: ByteSpan) {
        tributarySetOutput(bytes.base, Int32(bytes.count))  // Int is 32 bits on wasm32
    }

    public static func output(_ text: StaticString) {
        ByteSpan.with(text) { output($0) }
    }

    /// Sends the buffer as the output; `false` (and nothing sent) if an append overflowed it.
    @discardableResult
    public static func output(_ buffer: OutputBuffer) -> Bool {
        guard let bytes = buffer.bytes else { return false }
        output(bytes)
        return true
    }

    /// Logs one UTF-8 message; bytes beyond the function's log limit are dropped by the host.
    public static func log(_ level: LogLevel, _ message: StaticString) {
        ByteSpan.with(message) { log(level, $0) }
    }

    public static func log(_ level: LogLevel, _ message: ByteSpan) {
        tributaryLog(level.rawValue, message.base, Int32(message.count))
    }

    /// `byteCount` bytes, 16-aligned, from a bump heap that grows memory as needed; `nil` when
    /// memory cannot grow (the module's or the function's memory limit).
    public static func allocate(byteCount: Int) -> UnsafeMutableRawPointer? {
        guard byteCount >= 0 else { return nil }
        if heapNext == 0 { heapNext = UInt64(UInt(bitPattern: heapStart)) }
        // 64-bit arithmetic: a full 4 GiB memory is 2^32 bytes, which wraps a wasm32 UInt.
        let start = (heapNext + 15) & ~15
        let end = start + UInt64(byteCount)
        guard end < 1 << 32 else { return nil }
        let available = UInt64(UInt32(bitPattern: wasmMemorySize(0))) * 65536
        if end > available {
            let pages = (end - available + 65535) / 65536
            if wasmMemoryGrow(0, Int32(pages)) == -1 { return nil }
        }
        heapNext = end
        return UnsafeMutableRawPointer(bitPattern: UInt(start))
    }

    /// `__heap_base`; also a valid address for empty ranges.
    static var heapStart: UnsafeMutablePointer<UInt8> {
        withUnsafeMutablePointer(to: &heapBase) { $0 }
    }
}

// MARK: - Bytes

/// A view of bytes in linear memory: the input, the raw text of a JSON value in it, or a
/// `StaticString`. It owns nothing; everything lives for the one invocation.
public struct ByteSpan {
    let base: UnsafePointer<UInt8>
    /// The number of bytes.
    public let count: Int

    init(base: UnsafePointer<UInt8>, count: Int) {
        self.base = base
        self.count = count
    }

    /// The bytes of a string literal, which live in static data. Traps for the rare StaticString
    /// made from a single Unicode scalar, which has no bytes in memory (`ByteSpan.with` takes any).
    public init(_ text: StaticString) {
        precondition(text.hasPointerRepresentation)
        self.init(base: text.utf8Start, count: text.utf8CodeUnitCount)
    }

    /// The byte at `index`; traps outside `0..<count`.
    public subscript(index: Int) -> UInt8 {
        precondition(index >= 0 && index < count)
        return base[index]
    }

    /// The bytes `range.lowerBound..<range.upperBound`; traps outside the span.
    public func slice(_ range: Range<Int>) -> ByteSpan {
        precondition(range.lowerBound >= 0 && range.upperBound <= count)
        return ByteSpan(base: base + range.lowerBound, count: range.count)
    }

    /// Calls `body` with the bytes of `text`, whichever representation it has.
    public static func with<Result>(_ text: StaticString, _ body: (ByteSpan) -> Result) -> Result {
        text.withUTF8Buffer { body(ByteSpan(base: $0.baseAddress ?? UnsafePointer(Tributary.heapStart), count: $0.count)) }
    }

    /// `true` when the span holds exactly the bytes of `text`.
    public func equals(_ text: StaticString) -> Bool {
        text.withUTF8Buffer { equals($0) }
    }

    func equals(_ other: UnsafeBufferPointer<UInt8>) -> Bool {
        guard other.count == count else { return false }
        for index in 0..<count where base[index] != other[index] { return false }
        return true
    }
}

/// A fixed-capacity byte buffer for building output. Appends that do not fit set `overflowed`
/// and are dropped whole, so a truncated (invalid) JSON document is never sent.
public struct OutputBuffer {
    let storage: UnsafeMutablePointer<UInt8>?
    /// The most bytes the buffer holds.
    public let capacity: Int
    /// The bytes appended so far.
    public private(set) var count = 0
    /// `true` once an append did not fit (or the heap had no room for the buffer).
    public private(set) var overflowed: Bool

    /// A buffer of `capacity` bytes from the heap.
    public init(capacity: Int) {
        storage = Tributary.allocate(byteCount: capacity)?.bindMemory(to: UInt8.self, capacity: capacity)
        self.capacity = capacity
        overflowed = storage == nil
    }

    public mutating func append(_ bytes: ByteSpan) {
        guard !overflowed, let storage, bytes.count <= capacity - count else {
            overflowed = true
            return
        }
        (storage + count).update(from: bytes.base, count: bytes.count)
        count += bytes.count
    }

    public mutating func append(_ text: StaticString) {
        ByteSpan.with(text) { append($0) }
    }

    /// Appends the raw text of a JSON value: from validated input, it is valid JSON as it is.
    public mutating func append(_ value: JSON) {
        append(value.text)
    }

    /// The contents, or `nil` if an append overflowed.
    public var bytes: ByteSpan? {
        guard !overflowed, let storage else { return nil }
        return ByteSpan(base: storage, count: count)
    }
}

// MARK: - JSON

/// The raw text of one JSON value inside the input. Lookups scan the text each time (no
/// allocation, no index): look up each member once and keep the result.
public struct JSON {
    /// The value's raw text, e.g. `"0x6b17…"` with its quotes, or `{"name":…}`.
    public let text: ByteSpan

    /// The deepest nesting accepted: containers are tracked in a 64-bit mask, without recursion,
    /// so a deeply nested input cannot exhaust the stack.
    public static let maximumDepth = 64

    /// `text` as JSON when it is exactly one valid JSON value (whitespace around it allowed).
    /// Check the input once up front: every value found in it is then valid JSON too, and can be
    /// copied into output as it is.
    public static func parse(_ text: ByteSpan) -> JSON? {
        let scanner = Scanner(text: text)
        guard let end = scanner.skipValue(0), scanner.skipSpace(end) == text.count else { return nil }
        return JSON(text: text)
    }

    /// The members of an object, in order, as (raw key without quotes, value); none for anything
    /// that is not an object. Stops early at malformed JSON.
    public var members: Members { Members(scanner: Scanner(text: text)) }

    /// The elements of an array, in order; none for anything that is not an array.
    public var elements: Elements { Elements(scanner: Scanner(text: text)) }

    /// The value of the first member named `key` (direct members only).
    public func member(_ key: StaticString) -> JSON? {
        key.withUTF8Buffer { member($0) }
    }

    func member(_ key: UnsafeBufferPointer<UInt8>) -> JSON? {
        for (name, value) in members where name.equals(key) { return value }
        return nil
    }

    /// Follows a dotted path: `"event.decoded.name"`, `"event.topics.0"`. A segment of digits
    /// indexes an array, any other names an object member (keys containing "." cannot be reached
    /// this way: use `member`). `""` is the value itself.
    public func value(atPath path: StaticString) -> JSON? {
        path.withUTF8Buffer { path in
            var current = self
            var start = 0
            while start < path.count {
                var end = start
                var index = 0
                var numeric = true
                while end < path.count && path[end] != UInt8(ascii: ".") {
                    let digit = Int(path[end]) - Int(UInt8(ascii: "0"))
                    if digit < 0 || digit > 9 || index > (Int.max - 9) / 10 { numeric = false }
                    if numeric { index = index * 10 + digit }
                    end += 1
                }
                let segment = UnsafeBufferPointer(rebasing: path[start..<end])
                let first = Scanner(text: current.text).skipSpace(0)
                if numeric && end > start && first < current.text.count && current.text.base[first] == Scanner.openBracket {
                    var elements = current.elements
                    var element = elements.next()
                    for _ in 0..<index where element != nil { element = elements.next() }
                    guard let element else { return nil }
                    current = element
                } else {
                    guard let value = current.member(segment) else { return nil }
                    current = value
                }
                start = end + 1
            }
            return current
        }
    }

    /// The raw contents of a string value (without the quotes, escapes not decoded), else `nil`.
    public var string: ByteSpan? {
        guard Scanner(text: text).skipString(0) == text.count else { return nil }
        return text.slice(1..<text.count - 1)
    }

    /// `true` when this is a string whose raw contents are exactly `text`.
    public func isString(_ text: StaticString) -> Bool {
        string?.equals(text) ?? false
    }

    /// `true` when this is the literal `true`.
    public var isTrue: Bool { text.equals("true") }

    /// The digits of an integer given as a string (`"123"`, `"-5"`, how Tributary writes ABI
    /// integers) or a JSON integer (`123`), sign included; `nil` for fractions, exponents, `"+1"`,
    /// empty strings and hex. Compare them with `Tributary.compareDecimal`.
    public var integerDigits: ByteSpan? {
        guard text.count > 0 else { return nil }
        var digits = text
        if text.base[0] == Scanner.quote {
            guard let contents = string else { return nil }
            digits = contents
        }
        let start = digits.count > 0 && digits.base[0] == UInt8(ascii: "-") ? 1 : 0
        guard start < digits.count else { return nil }
        for index in start..<digits.count where !Scanner.isDigit(digits.base[index]) { return nil }
        return digits
    }

    /// A non-negative integer (number or decimal string) that fits 64 bits: `attempt`,
    /// `functionVersion`, `blockNumber`.
    public var uint64: UInt64? {
        guard let digits = integerDigits, digits.base[0] != UInt8(ascii: "-") else { return nil }
        var result: UInt64 = 0
        for index in 0..<digits.count {
            let digit = UInt64(digits.base[index] - UInt8(ascii: "0"))
            guard result <= (UInt64.max - digit) / 10 else { return nil }
            result = result * 10 + digit
        }
        return result
    }

    /// On `event.decoded.arguments`: the `value` of the argument named `name`. Decoded arguments
    /// are a list of `{name, type, indexed, value, checksummed}` in ABI order, not a map.
    public func argument(named name: StaticString) -> JSON? {
        for argument in elements where argument.member("name")?.isString(name) == true {
            return argument.member("value")
        }
        return nil
    }

    /// Iterates an object's members; see `members`.
    public struct Members: Sequence, IteratorProtocol {
        let scanner: Scanner
        var cursor = 0  // 0 before the first member, else the offset after the last value

        public mutating func next() -> (key: ByteSpan, value: JSON)? {
            guard var p = scanner.open(cursor, Scanner.openBrace, Scanner.closeBrace),
                let keyEnd = scanner.skipString(p)
            else { return nil }
            let key = scanner.text.slice(p + 1..<keyEnd - 1)
            p = scanner.skipSpace(keyEnd)
            guard p < scanner.text.count, scanner.text.base[p] == Scanner.colon else { return nil }
            p = scanner.skipSpace(p + 1)
            guard let valueEnd = scanner.skipValue(p) else { return nil }
            cursor = valueEnd
            return (key, JSON(text: scanner.text.slice(p..<valueEnd)))
        }
    }

    /// Iterates an array's elements; see `elements`.
    public struct Elements: Sequence, IteratorProtocol {
        let scanner: Scanner
        var cursor = 0

        public mutating func next() -> JSON? {
            guard let p = scanner.open(cursor, Scanner.openBracket, Scanner.closeBracket),
                let end = scanner.skipValue(p)
            else { return nil }
            cursor = end
            return JSON(text: scanner.text.slice(p..<end))
        }
    }
}

extension Tributary {
    /// Compares two decimal integers given as digit text (optional leading "-", leading zeros
    /// allowed, any length: a uint256 fits no native integer): -1, 0 or 1 as a <, =, > b, `nil`
    /// if either is not a decimal integer.
    public static func compareDecimal(_ a: ByteSpan, _ b: ByteSpan) -> Int? {
        guard let (negativeA, digitsA) = magnitude(a), let (negativeB, digitsB) = magnitude(b) else { return nil }
        var order = 0
        if digitsA.count != digitsB.count {
            order = digitsA.count < digitsB.count ? -1 : 1
        } else {
            for index in 0..<digitsA.count where digitsA.base[index] != digitsB.base[index] {
                order = digitsA.base[index] < digitsB.base[index] ? -1 : 1
                break
            }
        }
        if negativeA != negativeB { return negativeA ? -1 : 1 }
        return negativeA ? -order : order
    }

    /// The sign and the digits without leading zeros ("-0" is not negative).
    static func magnitude(_ text: ByteSpan) -> (negative: Bool, digits: ByteSpan)? {
        let negative = text.count > 0 && text.base[0] == UInt8(ascii: "-")
        var start = negative ? 1 : 0
        guard start < text.count else { return nil }
        for index in start..<text.count where !Scanner.isDigit(text.base[index]) { return nil }
        while start < text.count - 1 && text.base[start] == UInt8(ascii: "0") { start += 1 }
        let digits = text.slice(start..<text.count)
        return (negative && !digits.equals("0"), digits)
    }
}

// MARK: - JSON scanning

/// Skips JSON syntax in `text`. Offsets go from 0 to `text.count`; every read checks its offset
/// first (most go through `byte(_:)`). The methods return the offset after what they skipped,
/// `nil` when the text there is not valid JSON.
///
/// Steps use wrapping `&+`: each one follows a successful read, so the offset is below
/// `text.count` and cannot overflow, and leaving out the overflow checks saves about 12% of the
/// large-transfer example's fuel. (Should one ever wrap, `byte(_:)` reads a negative offset as out
/// of range.)
struct Scanner {
    let text: ByteSpan

    static let quote = UInt8(ascii: "\""), backslash = UInt8(ascii: "\\"), colon = UInt8(ascii: ":")
    static let comma = UInt8(ascii: ","), openBrace = UInt8(ascii: "{"), closeBrace = UInt8(ascii: "}")
    static let openBracket = UInt8(ascii: "["), closeBracket = UInt8(ascii: "]")

    static func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }

    static func isHex(_ byte: UInt8) -> Bool {
        isDigit(byte) || (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "f"))
            || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "F"))
    }

    func byte(_ offset: Int) -> UInt8? {
        UInt(bitPattern: offset) < UInt(bitPattern: text.count) ? text.base[offset] : nil
    }

    func skipSpace(_ start: Int) -> Int {
        var p = start
        while let c = byte(p), c == 0x20 || c == 0x09 || c == 0x0A || c == 0x0D { p &+= 1 }
        return p
    }

    /// For the member/element iterators: at `cursor` 0 the container's opening bracket, later the
    /// comma after the previous value. Returns where the next item starts, `nil` at the end.
    func open(_ cursor: Int, _ opening: UInt8, _ closing: UInt8) -> Int? {
        var p = skipSpace(cursor)
        if cursor == 0 {
            guard byte(p) == opening else { return nil }
            p = skipSpace(p &+ 1)
            if byte(p) == closing { return nil }
        } else {
            guard cursor <= text.count, byte(p) == Scanner.comma else { return nil }
            p = skipSpace(p &+ 1)
        }
        return p
    }

    /// A string starting at `start`. Control characters and bad escapes are rejected, so a string
    /// that passes can be copied verbatim into output JSON.
    func skipString(_ start: Int) -> Int? {
        guard byte(start) == Scanner.quote else { return nil }
        var p = start &+ 1
        while let c = byte(p) {
            if c == Scanner.quote { return p &+ 1 }
            if c < 0x20 { return nil }
            if c == Scanner.backslash {
                p &+= 1
                switch byte(p) {
                case Scanner.quote, Scanner.backslash, UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"),
                    UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
                    break
                case UInt8(ascii: "u"):
                    guard text.count - p >= 5 else { return nil }
                    for index in p &+ 1...p &+ 4 where !Scanner.isHex(text.base[index]) { return nil }
                    p &+= 4
                default:
                    return nil
                }
            }
            p &+= 1
        }
        return nil
    }

    func skipDigits(_ start: Int) -> Int? {
        var p = start
        while let c = byte(p), Scanner.isDigit(c) { p &+= 1 }
        return p == start ? nil : p
    }

    func skipLiteral(_ start: Int, _ literal: StaticString) -> Int? {
        literal.withUTF8Buffer { literal in
            guard text.count - start >= literal.count else { return nil }
            for index in 0..<literal.count where text.base[start + index] != literal[index] { return nil }
            return start + literal.count
        }
    }

    /// A number, `true`, `false` or `null`.
    func skipScalar(_ start: Int) -> Int? {
        if let end = skipLiteral(start, "true") ?? skipLiteral(start, "false") ?? skipLiteral(start, "null") {
            return end
        }
        var p = start
        if byte(p) == UInt8(ascii: "-") { p &+= 1 }
        if byte(p) == UInt8(ascii: "0") {
            p &+= 1
        } else {
            guard let end = skipDigits(p) else { return nil }
            p = end
        }
        if byte(p) == UInt8(ascii: ".") {
            guard let end = skipDigits(p &+ 1) else { return nil }
            p = end
        }
        if byte(p) == UInt8(ascii: "e") || byte(p) == UInt8(ascii: "E") {
            p &+= 1
            if byte(p) == UInt8(ascii: "+") || byte(p) == UInt8(ascii: "-") { p &+= 1 }
            guard let end = skipDigits(p) else { return nil }
            p = end
        }
        return p
    }

    /// An object key and its colon, after optional whitespace.
    func skipKey(_ start: Int) -> Int? {
        guard let end = skipString(skipSpace(start)) else { return nil }
        let p = skipSpace(end)
        return byte(p) == Scanner.colon ? p &+ 1 : nil
    }

    /// One complete value (objects and arrays checked fully) after optional whitespace.
    func skipValue(_ start: Int) -> Int? {
        var inObject: UInt64 = 0  // bit d: the container at depth d + 1 is an object
        var depth = 0
        var p = start
        while true {
            // A value is expected at p.
            p = skipSpace(p)
            guard let c = byte(p) else { return nil }
            if c == Scanner.openBrace || c == Scanner.openBracket {
                let object = c == Scanner.openBrace
                guard depth < JSON.maximumDepth else { return nil }
                if object { inObject |= 1 << UInt64(depth) } else { inObject &= ~(1 << UInt64(depth)) }
                depth += 1
                p = skipSpace(p &+ 1)
                if byte(p) == (object ? Scanner.closeBrace : Scanner.closeBracket) {
                    p &+= 1
                    depth -= 1
                } else {
                    if object {
                        guard let end = skipKey(p) else { return nil }
                        p = end
                    }
                    continue
                }
            } else if c == Scanner.quote {
                guard let end = skipString(p) else { return nil }
                p = end
            } else {
                guard let end = skipScalar(p) else { return nil }
                p = end
            }
            // A value ended at p: close containers, or move on to the next element.
            while true {
                if depth == 0 { return p }
                let object = (inObject >> UInt64(depth - 1)) & 1 == 1
                p = skipSpace(p)
                guard let c = byte(p) else { return nil }
                if c == (object ? Scanner.closeBrace : Scanner.closeBracket) {
                    p &+= 1
                    depth -= 1
                    continue
                }
                guard c == Scanner.comma else { return nil }
                p &+= 1
                if object {
                    guard let end = skipKey(p) else { return nil }
                    p = end
                }
                break
            }
        }
    }
}
