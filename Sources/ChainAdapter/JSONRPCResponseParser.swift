import EVM
import Foundation

/// Reads JSON-RPC 2.0 responses (single or batch) and classifies errors the way providers
/// report them: `-32005` / "query returned more than 10000 results" with a suggested range,
/// "block range is too large" / "exceed maximum block range: N", rate limits.
enum JSONRPCResponseParser {
    /// The results of a batch, by request id, each a result or an error.
    static func results(_ body: [UInt8], expectedIDs: [Int]) throws -> [Int: Result<Any, ChainAdapterError>] {
        let json: Any
        do {
            json = try RPCDecoding.json(body, what: "JSON-RPC response")
        } catch {
            throw ChainAdapterError(
                .malformedResponse,
                "the endpoint answered with invalid JSON (\(body.count) bytes: \(String(decoding: body.prefix(80), as: UTF8.self)))"
            )
        }
        let entries: [Any] = (json as? [Any]) ?? [json]
        var results: [Int: Result<Any, ChainAdapterError>] = [:]
        for entry in entries {
            guard let object = entry as? [String: Any] else {
                throw ChainAdapterError(.malformedResponse, "a JSON-RPC response entry is not an object")
            }
            let id = (object["id"] as? Int) ?? (object["id"] as? String).flatMap(Int.init)
            if let error = object["error"] as? [String: Any] {
                let failure = classify(code: error["code"] as? Int ?? 0, message: error["message"] as? String ?? "")
                if let id {
                    results[id] = .failure(failure)
                } else if expectedIDs.count == 1 {
                    results[expectedIDs[0]] = .failure(failure)  // some nodes drop the id on errors
                } else {
                    throw failure
                }
                continue
            }
            guard let id else { throw ChainAdapterError(.malformedResponse, "a JSON-RPC response has no id") }
            guard object.keys.contains("result") else {
                throw ChainAdapterError(.malformedResponse, "JSON-RPC response \(id) has neither result nor error")
            }
            results[id] = .success(object["result"] ?? NSNull())
        }
        for id in expectedIDs where results[id] == nil {
            throw ChainAdapterError(.malformedResponse, "the JSON-RPC response is missing the answer to request \(id)")
        }
        return results
    }

    /// Turns a JSON-RPC error into a typed one.
    static func classify(code: Int, message: String) -> ChainAdapterError {
        let lowered = message.lowercased()
        if code == -32005 || lowered.contains("more than 10000 results") || lowered.contains("query returned more than")
            || lowered.contains("response size exceeded") || lowered.contains("log response size exceeded")
        {
            if lowered.contains("rate") && !lowered.contains("result") {
                return ChainAdapterError(.rateLimited, "rate limited: \(message)", rpcCode: code)
            }
            return ChainAdapterError(
                .tooManyResults, "too many results: \(message)", suggestedRange: suggestedRange(in: message),
                rpcCode: code)
        }
        if lowered.contains("block range")
            && (lowered.contains("too large") || lowered.contains("exceed") || lowered.contains("maximum"))
        {
            return ChainAdapterError(.rangeTooLarge, "block range too large: \(message)", rpcCode: code)
        }
        if code == 429 || lowered.contains("rate limit") || lowered.contains("too many requests") {
            return ChainAdapterError(.rateLimited, "rate limited: \(message)", rpcCode: code)
        }
        return ChainAdapterError(.rpcError, "JSON-RPC error \(code): \(message)", rpcCode: code)
    }

    /// The first `[0xA, 0xB]` range in a provider message (Alchemy/Infura wording).
    static func suggestedRange(in message: String) -> ClosedRange<UInt64>? {
        guard let open = message.firstIndex(of: "["), let close = message[open...].firstIndex(of: "]") else {
            return nil
        }
        let parts = message[message.index(after: open)..<close].split(separator: ",").map {
            $0.trimmingCharacters(in: .whitespaces)
        }
        guard parts.count == 2, let low = try? RPCDecoding.quantity(parts[0], "range"),
            let high = try? RPCDecoding.quantity(parts[1], "range"), low <= high
        else { return nil }
        return low...high
    }

    /// The largest range a "exceed maximum block range: N" style message allows, if it says.
    static func rangeLimit(in message: String) -> UInt64? {
        let digits = message.split(whereSeparator: { !$0.isNumber }).compactMap { UInt64($0) }
        return digits.last
    }
}
