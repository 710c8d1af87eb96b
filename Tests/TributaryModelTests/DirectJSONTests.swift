import Foundation
import PropertyBased
import SwiftProtobuf
import Testing
import TributaryModel

/// Random canonical events, with the strings and values that exercise JSON escaping and every
/// branch of the direct encoder (and its fallbacks).
enum RandomEvents {
    static let cases = Generator<Tributary_V1_CanonicalEvent, Shrink.None<Tributary_V1_CanonicalEvent>>(run: { rng in
        event(using: &rng)
    })

    static func text(using rng: inout some RandomNumberGenerator) -> String {
        let pool: [Unicode.Scalar] = [
            "a", "Z", "0", "x", " ", "/", "\"", "\\", "\u{0}", "\u{8}", "\u{9}", "\u{A}", "\u{C}", "\u{D}", "\u{1F}",
            "\u{7F}", "\u{80}", "\u{9F}", "\u{A0}", "\u{BF}", "é", "€", "\u{2028}", "😀", "中",
        ]
        let count = Int.random(in: 0...(Bool.random(using: &rng) ? 3 : 24), using: &rng)
        var text = ""
        for _ in 0..<count { text.unicodeScalars.append(pool[Int.random(in: 0..<pool.count, using: &rng)]) }
        return text
    }

    static func value(depth: Int, using rng: inout some RandomNumberGenerator) -> Google_Protobuf_Value {
        var value = Google_Protobuf_Value()
        switch Int.random(in: 0..<(depth > 0 ? 8 : 6), using: &rng) {
        case 0, 1: value.stringValue = text(using: &rng)
        case 2: value.boolValue = Bool.random(using: &rng)
        case 3: value.nullValue = .nullValue
        case 4: value.numberValue = [0, 1, -2.5, 1e21, 123_456_789][Int.random(in: 0..<5, using: &rng)]
        case 5: value.stringValue = "0x" + String(UInt64.random(in: 0...UInt64.max, using: &rng), radix: 16)
        case 6:
            value.listValue = Google_Protobuf_ListValue(
                values: (0..<Int.random(in: 0...3, using: &rng)).map { _ in Self.value(depth: depth - 1, using: &rng) })
        default:
            var structure = Google_Protobuf_Struct()
            structure.fields["k"] = Self.value(depth: depth - 1, using: &rng)
            value.structValue = structure
        }
        return value
    }

    static func event(using rng: inout some RandomNumberGenerator) -> Tributary_V1_CanonicalEvent {
        func maybe<T>(_ make: () -> T, _ empty: T) -> T { Bool.random(using: &rng) ? make() : empty }
        var event = Tributary_V1_CanonicalEvent()
        event.id = text(using: &rng)
        event.chainID = maybe({ "eip155:1" }, "")
        event.blockNumber = maybe({ UInt64.random(in: 1...UInt64.max, using: &rng) }, 0)
        event.blockHash = text(using: &rng)
        event.parentHash = text(using: &rng)
        event.blockTimestamp = maybe({ UInt64.random(in: 1...2_000_000_000, using: &rng) }, 0)
        event.transactionHash = text(using: &rng)
        event.transactionIndex = maybe({ UInt32.random(in: 1...UInt32.max, using: &rng) }, 0)
        event.logIndex = maybe({ UInt32.random(in: 1...UInt32.max, using: &rng) }, 0)
        event.address = text(using: &rng)
        event.topics = (0..<Int.random(in: 0...4, using: &rng)).map { _ in text(using: &rng) }
        event.data = text(using: &rng)
        event.status =
            [.unspecified, .pending, .confirmed, .finalized, .UNRECOGNIZED(7)][
                Int.random(in: 0..<(Int.random(in: 0..<20, using: &rng) == 0 ? 5 : 4), using: &rng)]
        event.removed = Bool.random(using: &rng)
        if Bool.random(using: &rng) {
            var decoded = Tributary_V1_DecodedEvent()
            decoded.name = text(using: &rng)
            decoded.signature = text(using: &rng)
            decoded.abi = text(using: &rng)
            decoded.arguments = (0..<Int.random(in: 0...3, using: &rng)).map { _ in
                var argument = Tributary_V1_DecodedArgument()
                argument.name = text(using: &rng)
                argument.type = text(using: &rng)
                argument.indexed = Bool.random(using: &rng)
                if Bool.random(using: &rng) { argument.value = value(depth: 2, using: &rng) }
                argument.checksummed = text(using: &rng)
                return argument
            }
            event.decoded = decoded
        }
        return event
    }
}

extension RandomEvents {
    static let requests = Generator<Tributary_V1_InvocationRequest, Shrink.None<Tributary_V1_InvocationRequest>>(
        run: { rng in request(using: &rng) })

    static func request(using rng: inout some RandomNumberGenerator) -> Tributary_V1_InvocationRequest {
        var request = Tributary_V1_InvocationRequest()
        request.invocationID = text(using: &rng)
        request.functionName = text(using: &rng)
        request.functionVersion = Bool.random(using: &rng) ? UInt32.random(in: 1...UInt32.max, using: &rng) : 0
        request.triggerID = text(using: &rng)
        if Int.random(in: 0..<10, using: &rng) > 0 { request.event = event(using: &rng) }
        request.attempt = Bool.random(using: &rng) ? UInt32.random(in: 1...5, using: &rng) : 0
        if Bool.random(using: &rng) {
            request.deadline = timestamp(using: &rng)
        }
        if Int.random(in: 0..<10, using: &rng) == 0 { request.input = Data(text(using: &rng).utf8) }
        return request
    }
}

extension RandomEvents {
    static let results = Generator<Tributary_V1_InvocationResult, Shrink.None<Tributary_V1_InvocationResult>>(
        run: { rng in result(using: &rng) })

    static func result(using rng: inout some RandomNumberGenerator) -> Tributary_V1_InvocationResult {
        var result = Tributary_V1_InvocationResult()
        result.invocationID = text(using: &rng)
        result.functionName = text(using: &rng)
        result.functionVersion = Bool.random(using: &rng) ? UInt32.random(in: 1...UInt32.max, using: &rng) : 0
        result.triggerID = text(using: &rng)
        result.eventID = text(using: &rng)
        result.status = Tributary_V1_InvocationStatus(rawValue: Int.random(in: 0...9, using: &rng))!
        result.output = Data(
            (0..<Int.random(in: 0...40, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) })
        result.logs = (0..<Int.random(in: 0...3, using: &rng)).map { _ in
            var line = Tributary_V1_FunctionLog()
            line.level = ["", "info", "error"][Int.random(in: 0..<3, using: &rng)]
            line.message = text(using: &rng)
            return line
        }
        if Bool.random(using: &rng) {
            // Negative durations too (swift-protobuf writes those; the direct writer hands them over).
            let seconds = Int64.random(in: -100...100, using: &rng)
            var nanos = fraction(using: &rng)
            if seconds < 0 || (seconds == 0 && Bool.random(using: &rng)) { nanos = -nanos }
            result.duration = Google_Protobuf_Duration(seconds: seconds, nanos: nanos)
        }
        result.fuelUsed = Bool.random(using: &rng) ? UInt64.random(in: 1...UInt64.max, using: &rng) : 0
        result.error = text(using: &rng)
        result.attempt = Bool.random(using: &rng) ? UInt32.random(in: 1...5, using: &rng) : 0
        if Bool.random(using: &rng) {
            result.completedAt = timestamp(using: &rng)
        }
        return result
    }

    /// Any valid timestamp (years 1 to 9999; before 1970 goes through swift-protobuf), with
    /// fractions of 0, 3, 6 and 9 digits, often close to now.
    static func timestamp(using rng: inout some RandomNumberGenerator) -> Google_Protobuf_Timestamp {
        let seconds: Int64 =
            switch Int.random(in: 0..<4, using: &rng) {
            case 0: Int64.random(in: -62_135_596_800...253_402_300_799, using: &rng)
            case 1: Int64.random(in: 0...86_400 * 3, using: &rng)  // days around the epoch
            // The epoch, 2000-02-29, 2100-02-28T23:59:59 and the last second of 9999.
            case 2: [0, 951_782_400, 4_107_542_399, 253_402_300_799][Int.random(in: 0..<4, using: &rng)]
            default: Int64.random(in: 1_700_000_000...1_900_000_000, using: &rng)
            }
        return Google_Protobuf_Timestamp(seconds: seconds, nanos: fraction(using: &rng))
    }

    /// Nanoseconds that need 0, 3, 6 or 9 digits.
    static func fraction(using rng: inout some RandomNumberGenerator) -> Int32 {
        switch Int.random(in: 0..<4, using: &rng) {
        case 0: 0
        case 1: Int32.random(in: 1...999, using: &rng) * 1_000_000
        case 2: Int32.random(in: 1...999_999, using: &rng) * 1_000
        default: Int32.random(in: 1...999_999_999, using: &rng)
        }
    }
}

@Suite("Direct proto3-JSON encoding")
struct DirectJSONTests {
    @Test("invocation requests are written exactly as swift-protobuf writes them")
    func requestsMatchSwiftProtobuf() async {
        await propertyCheck(count: 1_000, input: RandomEvents.requests) { request in
            Self.expectSame(try DirectJSON.encode(request), try request.jsonUTF8Bytes())
        }
    }

    @Test("invocation results are written exactly as swift-protobuf writes them")
    func resultsMatchSwiftProtobuf() async {
        await propertyCheck(count: 1_000, input: RandomEvents.results) { result in
            Self.expectSame(try DirectJSON.encode(result), try result.jsonUTF8Bytes())
        }
    }

    @Test("the direct encoder writes exactly what swift-protobuf writes, for any event")
    func matchesSwiftProtobuf() async {
        await propertyCheck(count: 2_000, input: RandomEvents.cases) { event in
            Self.expectSame(try DirectJSON.encode(event), try event.jsonUTF8Bytes())
        }
    }

    @Test("records read directly or by swift-protobuf come out the same, for Tributary's form and variants of it")
    func decodingMatchesSwiftProtobuf() async {
        let variants = Generator<
            (Tributary_V1_InvocationRequest, Int, UInt64), Shrink.None<(Tributary_V1_InvocationRequest, Int, UInt64)>
        >(
            run: { rng in (RandomEvents.request(using: &rng), Int.random(in: 0..<8, using: &rng), rng.next()) })
        await propertyCheck(count: 1_500, input: variants) { request, variant, seed in
            let written = try RecordEncoding.json.encode(request)
            let text = Self.variant(String(decoding: written, as: UTF8.self), kind: variant, seed: seed)
            let bytes = Array(text.utf8)
            var options = JSONDecodingOptions()
            options.ignoreUnknownFields = true
            let reference = Result { try Tributary_V1_InvocationRequest(jsonUTF8Bytes: bytes, options: options) }
            let direct = Result {
                try RecordEncoding.decode(
                    Tributary_V1_InvocationRequest.self, from: bytes, contentType: "application/json")
            }
            switch (reference, direct) {
            case (.success(let expected), .success(let actual)): #expect(actual == expected, "\(text)")
            case (.failure, .failure): break
            default: Issue.record("one decoder accepted what the other refused: \(text)")
            }
            if variant == 0, request.input.isEmpty, !request.hasEvent || DirectJSON.isDirectlyEncodable(request.event) {
                #expect(DirectJSON.decodeRequest(written) == request, "the direct reader refused its own form")
                // The event's bytes as the record carries them are what the encoder writes for it.
                let kept = DirectJSON.decodeRequestKeepingEvent(written)
                #expect(
                    kept?.eventJSON.map(Array.init) == (request.hasEvent ? try DirectJSON.encode(request.event) : nil))
            }
            // Reading with the event kept accepts exactly what reading it all accepts. Kept event
            // bytes, whatever the variant, are the event; the request around them is the same but
            // for the event's strings. Whitespace and bare 64-bit integers are not compact, so
            // nothing is kept.
            let full = DirectJSON.decodeRequest(bytes)
            let kept = DirectJSON.decodeRequestKeepingEvent(bytes)
            #expect((full == nil) == (kept == nil), "\(text)")
            if let full, let kept {
                if let eventJSON = kept.eventJSON {
                    #expect(try Tributary_V1_CanonicalEvent(jsonUTF8Bytes: Array(eventJSON)) == full.event)
                    #expect(kept.request.event.id == full.event.id && kept.request.event.status == full.event.status)
                    #expect(!(1...2).contains(variant) || text == String(decoding: written, as: UTF8.self), "\(text)")
                    var withoutEvent = (full, kept.request)
                    withoutEvent.0.clearEvent()
                    withoutEvent.1.clearEvent()
                    #expect(withoutEvent.0 == withoutEvent.1)
                } else {
                    #expect(kept.request == full)
                }
            }
            // The event alone, through the canonical-events path.
            if variant == 0, request.hasEvent {
                let eventBytes = try RecordEncoding.json.encode(request.event)
                if DirectJSON.isDirectlyEncodable(request.event) {
                    #expect(
                        DirectJSON.decodeEvent(eventBytes) == request.event, "the direct reader refused its own form")
                }
                #expect(
                    try RecordEncoding.decode(Tributary_V1_CanonicalEvent.self, from: eventBytes, contentType: nil)
                        == Tributary_V1_CanonicalEvent(jsonUTF8Bytes: eventBytes))
            }
        }
    }

    @Test("a compact event record goes into a request as it is: the same bytes as writing the event")
    func eventRecordBytesStandForTheEvent() async {
        await propertyCheck(count: 1_000, input: RandomEvents.requests) { request in
            guard request.hasEvent, request.input.isEmpty, DirectJSON.isDirectlyEncodable(request.event) else { return }
            let eventBytes = try RecordEncoding.json.encode(request.event)
            let read = DirectJSON.decodeEventNotingForm(eventBytes)
            #expect(read?.compact == true && read?.event == request.event)
            Self.expectSame(try DirectJSON.encode(request, eventJSON: eventBytes), try DirectJSON.encode(request))
            // Whitespace makes a record not compact.
            let spaced = Array(
                String(decoding: eventBytes, as: UTF8.self).replacingOccurrences(of: ",\"", with: ", \"").utf8)
            if spaced != eventBytes { #expect(DirectJSON.decodeEventNotingForm(spaced)?.compact == false) }
        }
    }

    /// A small invocation request whose event has `address`.
    static func request(address: String) -> Tributary_V1_InvocationRequest {
        var request = Tributary_V1_InvocationRequest()
        request.invocationID = "i-1"
        request.event.id = "eip155:1:0xab:0"
        request.event.address = address
        return request
    }

    @Test("a string's quote, escape, control character or non-ASCII byte is found wherever it stands in a word")
    func specialBytesAtEveryPosition() throws {
        let request = Self.request(address: "PLACEHOLDER")
        let written = String(decoding: try RecordEncoding.json.encode(request), as: UTF8.self)
        // JSON source text: escapes, a raw control character (not JSON), non-ASCII, and DEL.
        for special in [#"\""#, #"\\"#, #"\u0001"#, "\u{01}", "\u{1F}", "é", "\u{7F}", "\""] {
            for position in 0..<20 {
                let value = String(repeating: "a", count: position) + special + String(repeating: "b", count: 9)
                let bytes = Array(written.replacingOccurrences(of: "PLACEHOLDER", with: value).utf8)
                let reference = try? Tributary_V1_InvocationRequest(jsonUTF8Bytes: bytes)
                let direct = DirectJSON.decodeRequest(bytes)
                let kept = DirectJSON.decodeRequestKeepingEvent(bytes)
                #expect(direct == reference, "\(special) at \(position)")
                #expect((kept == nil) == (direct == nil), "\(special) at \(position)")
            }
        }
    }

    @Test("invalid UTF-8 in an event's string is refused whether the event is kept as bytes or read")
    func invalidUTF8IsRefusedWhenKeepingTheEvent() throws {
        let request = Self.request(address: "0xé")
        var bytes = try RecordEncoding.json.encode(request)
        #expect(DirectJSON.decodeRequestKeepingEvent(bytes)?.eventJSON != nil)
        let accent = try #require(bytes.firstIndex(of: 0xC3))
        bytes[accent] = 0xFF  // a byte never valid in UTF-8
        #expect(DirectJSON.decodeRequest(bytes) == nil)
        #expect(DirectJSON.decodeRequestKeepingEvent(bytes) == nil)
        #expect(throws: ModelError.self) {
            try RecordEncoding.decodeRequestKeepingEvent(from: bytes, contentType: "application/json")
        }
    }

    @Test("a hostile record nesting lists a million deep is refused with an error, not a crash")
    func deepNestingIsRefused() {
        let depth = 1_000_000
        let json =
            "{\"id\":\"x\",\"decoded\":{\"arguments\":[{\"value\":" + String(repeating: "[", count: depth)
            + String(repeating: "]", count: depth) + "}]}}"
        #expect(throws: ModelError.self) {
            try RecordEncoding.decode(Tributary_V1_CanonicalEvent.self, from: Array(json.utf8), contentType: nil)
        }
    }

    /// `json` as written (kind 0) or changed the ways other writers differ: whitespace, bare
    /// 64-bit integers, proto field names, unknown members, a member twice, escaped slashes,
    /// a truncated record.
    static func variant(_ json: String, kind: Int, seed: UInt64) -> String {
        switch kind {
        case 1:
            return json.replacingOccurrences(of: ",\"", with: ", \n\t\"").replacingOccurrences(of: "\":", with: "\" : ")
        case 2:
            return json.replacingOccurrences(of: "\"blockNumber\":\"", with: "\"blockNumber\":").replacingOccurrences(
                of: "\",\"blockHash", with: ",\"blockHash")
        case 3: return json.replacingOccurrences(of: "\"invocationId\"", with: "\"invocation_id\"")
        case 4: return json.replacingOccurrences(of: "{\"", with: "{\"extra\":[1,{\"a\":null}],\"")
        case 5: return json.replacingOccurrences(of: "\"attempt\":", with: "\"attempt\":2,\"attempt\":")
        case 6: return json.replacingOccurrences(of: "x", with: "\\u0078").replacingOccurrences(of: "/", with: "\\/")
        case 7: return String(json.prefix(Int(seed % UInt64(max(1, json.count)))))
        default: return json
        }
    }

    static func expectSame(_ direct: [UInt8], _ reference: [UInt8]) {
        #expect(
            direct == reference,
            "direct: \(String(decoding: direct, as: UTF8.self))\nswift-protobuf: \(String(decoding: reference, as: UTF8.self))"
        )
    }

    @Test("a decoded ERC-20 Transfer is written directly and reads back as the same event")
    func transferRoundTrips() throws {
        var event = Tributary_V1_CanonicalEvent()
        event.id = "eip155:1:0xab:3"
        event.chainID = "eip155:1"
        event.blockNumber = 19_000_000
        event.status = .confirmed
        event.topics = ["0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef"]
        var amount = Google_Protobuf_Value()
        amount.stringValue = "1000000000000000000"
        var argument = Tributary_V1_DecodedArgument()
        argument.name = "value"
        argument.type = "uint256"
        argument.value = amount
        event.decoded.name = "Transfer"
        event.decoded.arguments = [argument]
        let json = try DirectJSON.encode(event)
        #expect(try Tributary_V1_CanonicalEvent(jsonUTF8Bytes: json) == event)
        #expect(String(decoding: json, as: UTF8.self).contains("\"blockNumber\":\"19000000\""))
    }
}
