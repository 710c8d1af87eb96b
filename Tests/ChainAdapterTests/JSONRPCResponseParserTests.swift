import Testing

@testable import ChainAdapter

@Suite struct JSONRPCResponseParserTests {
    static func parse(_ text: String, ids: [Int] = [1]) throws -> [Int: Result<Any, ChainAdapterError>] {
        try JSONRPCResponseParser.results(Array(text.utf8), expectedIDs: ids)
    }

    static func failure(_ text: String) throws -> ChainAdapterError? {
        guard case .failure(let error) = try parse(text)[1] else { return nil }
        return error
    }

    @Test func providersTooManyResultsMessagesCarryTheSuggestedRange() throws {
        let infura = try Self.failure(
            #"{"jsonrpc":"2.0","id":1,"error":{"code":-32005,"message":"query returned more than 10000 results. Try with this block range [0x1, 0x20]."}}"#
        )
        #expect(infura?.code == .tooManyResults)
        #expect(infura?.suggestedRange == 1...32)
        let alchemy = try Self.failure(
            #"{"jsonrpc":"2.0","id":1,"error":{"code":-32602,"message":"Log response size exceeded. You can make eth_getLogs requests with up to a 2K block range and no limit on the response size, or you can request any block range with a cap of 10K logs in the response. Based on your parameters, this block range should work: [0x10, 0x2a]"}}"#
        )
        #expect(alchemy?.code == .tooManyResults)
        #expect(alchemy?.suggestedRange == 16...42)
        let capped = try Self.failure(
            #"{"jsonrpc":"2.0","id":1,"error":{"code":-32000,"message":"exceed maximum block range: 5000"}}"#)
        #expect(capped?.code == .rangeTooLarge)
        #expect(JSONRPCResponseParser.rangeLimit(in: capped!.reason) == 5000)
        let plain = try Self.failure(
            #"{"jsonrpc":"2.0","id":1,"error":{"code":-32602,"message":"invalid block range params"}}"#)
        #expect(plain?.code == .rpcError)
        #expect(plain?.rpcCode == -32602)
    }

    @Test func batchesAreMatchedByIdAndMustBeComplete() throws {
        let results = try Self.parse(
            #"[{"jsonrpc":"2.0","id":2,"result":"0x2"},{"jsonrpc":"2.0","id":1,"result":null}]"#, ids: [1, 2])
        guard case .success(let two) = results[2] else { Issue.record("no result for 2"); return }
        #expect(two as? String == "0x2")
        #expect(throws: ChainAdapterError.self) {
            try Self.parse(#"[{"jsonrpc":"2.0","id":1,"result":"0x1"}]"#, ids: [1, 2])
        }
    }

    @Test func garbageIsMalformed() {
        for body in [
            "{\"jsonrpc\": \"2.0\", \"id\": 1, \"res", "<html>502 Bad Gateway</html>", "[1, 2]",
            #"{"jsonrpc":"2.0","id":1}"#,
        ] {
            #expect {
                try Self.parse(body)
            } throws: { error in
                (error as? ChainAdapterError)?.code == .malformedResponse
            }
        }
    }
}
