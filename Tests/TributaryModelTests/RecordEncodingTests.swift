import Foundation
import SwiftProtobuf
import Testing
import TributaryModel

@Suite struct RecordEncodingTests {
    static func sampleEvent() -> Tributary_V1_CanonicalEvent {
        var event = Tributary_V1_CanonicalEvent()
        event.chainID = "eip155:1"
        event.blockNumber = 1_755_634
        event.blockHash = "0x" + String(repeating: "ab", count: 32)
        event.logIndex = 12
        event.id = EventIdentity.eventID(chainID: event.chainID, blockHash: event.blockHash, logIndex: event.logIndex)
        event.address = "0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48"
        event.topics = ["0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef"]
        event.status = .pending
        var argument = Tributary_V1_DecodedArgument()
        argument.name = "value"
        argument.type = "uint256"
        argument.value = Google_Protobuf_Value(
            stringValue: "115792089237316195423570985008687907853269984665640564039457584007913129639935")
        event.decoded.name = "Transfer"
        event.decoded.arguments = [argument]
        return event
    }

    @Test(arguments: RecordEncoding.allCases)
    func roundTripsThroughEitherEncoding(encoding: RecordEncoding) throws {
        let event = Self.sampleEvent()
        let bytes = try encoding.encode(event)
        let decoded = try RecordEncoding.decode(
            Tributary_V1_CanonicalEvent.self, from: bytes, contentType: encoding.contentType)
        #expect(decoded == event)
        // Without the header the reader still tells the encodings apart.
        #expect(try RecordEncoding.decode(Tributary_V1_CanonicalEvent.self, from: bytes, contentType: nil) == event)
    }

    @Test func jsonIsProto3JSONWithCamelCaseNames() throws {
        let text = String(decoding: try RecordEncoding.json.encode(Self.sampleEvent()), as: UTF8.self)
        #expect(text.contains("\"chainId\":\"eip155:1\""))
        #expect(text.contains("\"status\":\"FINALITY_STATUS_PENDING\""))
        #expect(text.contains("\"blockNumber\":\"1755634\""))
        #expect(text.contains("\"id\":\"eip155:1:0xabab"))
    }

    @Test func malformedBytesGiveAnErrorNamingTheMessage() {
        #expect {
            try RecordEncoding.decode(Tributary_V1_CanonicalEvent.self, from: Array("{not json".utf8), contentType: nil)
        } throws: { error in
            (error as? ModelError)?.code == .malformedRecord
                && "\(error)".contains("tributary.v1.CanonicalEvent")
        }
    }

    @Test func contentTypeHeaderNamesTheEncoding() {
        #expect(RecordEncoding(contentType: "application/json; charset=utf-8") == .json)
        #expect(RecordEncoding(contentType: "application/x-protobuf") == .protobuf)
        #expect(RecordEncoding(contentType: "text/plain") == nil)
    }

    @Test func chainIDsAreCAIP2() throws {
        try EventIdentity.validateChainID("eip155:1")
        try EventIdentity.validateChainID("eip155:31337")
        #expect(throws: ModelError.self) { try EventIdentity.validateChainID("1") }
        #expect(throws: ModelError.self) { try EventIdentity.validateChainID("eip155:") }
    }

    @Test func standardTopicNamesAreTheSeedSystems() {
        #expect(
            StandardTopic.all.map(\.name) == [
                "raw-events", "raw-events.dlq", "canonical-events", "function-invocations",
                "function-invocations.dlq", "function-results", "tributary.functions", "tributary.triggers",
                "tributary.keys",
            ])
    }
}
