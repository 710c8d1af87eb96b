import Foundation
import PropertyBased
import Testing
import TributaryModel

@Suite struct JSONTextTests {
    @Test func decimalsAreWhatStringWrites() async {
        for value: UInt64 in [0, 1, 9, 10, 99, 100, 1_000_000, UInt64(UInt32.max), UInt64.max - 1, UInt64.max] {
            var bytes = Array("x".utf8)
            JSONText.appendDecimal(value, to: &bytes)
            #expect(String(decoding: bytes, as: UTF8.self) == "x\(value)")
        }
        for value: Int64 in [0, -1, -9, -10, Int64.min, Int64.max] {
            var bytes: [UInt8] = []
            JSONText.appendDecimal(value, to: &bytes)
            #expect(String(decoding: bytes, as: UTF8.self) == "\(value)")
        }
        await propertyCheck(count: 2_000, input: Gen.uint64()) { value in
            var bytes: [UInt8] = []
            JSONText.appendDecimal(value, to: &bytes)
            #expect(String(decoding: bytes, as: UTF8.self) == String(value))
        }
    }

    @Test func stringsEscapeWhatJSONRequires() {
        var bytes: [UInt8] = []
        JSONText.appendString("a\"b\\c\nd\re\tf\u{1}g\u{1F}é😀", to: &bytes)
        #expect(String(decoding: bytes, as: UTF8.self) == #""a\"b\\c\nd\re\tf\u0001g\u001fé😀""#)
        bytes = []
        JSONText.appendString("", to: &bytes)
        #expect(bytes == Array(#""""#.utf8))
    }

    /// Every string, escaped and read back by a JSON parser, is the string itself; runs between
    /// escapes are copied whole, so strings that start, end or are made of escapes are the cases.
    @Test func everyStringReadsBackAsItself() async {
        let texts = Generator<String, Shrink.None<String>>(run: { rng in RandomEvents.text(using: &rng) })
        await propertyCheck(count: 2_000, input: texts) { text in
            var bytes: [UInt8] = []
            JSONText.appendString(text, to: &bytes)
            let parsed = try? JSONSerialization.jsonObject(with: Data(bytes), options: .fragmentsAllowed) as? String
            #expect(parsed == text)
        }
    }
}
