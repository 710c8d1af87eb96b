import Foundation

/// Typed decoding of JSON-RPC results. A malformed or inconsistent response is an
/// ``EVMError`` `.invalidResponse` that names the field (for example
/// `block.logsBloom: expected 256 bytes, got 12`), never a crash.
public enum RPCDecoding {
    /// Parses JSON bytes into Foundation objects.
    ///
    /// - Throws: `.invalidResponse` when the bytes are not JSON.
    public static func json(_ bytes: some Collection<UInt8>, what: String) throws -> Any {
        do {
            return try JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed])
        } catch {
            throw EVMError(.invalidResponse, "\(what): not valid JSON (\(bytes.count) bytes)")
        }
    }

    /// A block header from an `eth_getBlockBy*` result or a `newHeads` notification.
    public static func blockHeader(_ json: Any, field: String = "block") throws -> RPCBlockHeader {
        let object = try Fields(json, field)
        let transactions: [String]
        if let list = object.raw("transactions") as? [Any] {
            transactions = try list.enumerated().map { index, entry in
                if let hash = entry as? String { return try hex(hash, bytes: 32, "\(field).transactions[\(index)]") }
                return try Fields(entry, "\(field).transactions[\(index)]").hash("hash")
            }
        } else {
            transactions = []
        }
        return RPCBlockHeader(
            number: try object.quantity("number"), hash: try object.hash("hash"),
            parentHash: try object.hash("parentHash"), timestamp: try object.quantity("timestamp"),
            logsBloom: try object.bloom("logsBloom"), transactionHashes: transactions)
    }

    /// A log from `eth_getLogs`, a receipt or a `logs` notification.
    public static func log(_ json: Any, field: String = "log") throws -> RPCLog {
        let object = try Fields(json, field)
        let topics = try object.list("topics").enumerated().map { index, topic -> String in
            guard let text = topic as? String else {
                throw EVMError(.invalidResponse, "\(field).topics[\(index)]: expected a hex string")
            }
            return try hex(text, bytes: 32, "\(field).topics[\(index)]")
        }
        guard topics.count <= 4 else {
            throw EVMError(.invalidResponse, "\(field).topics: \(topics.count) topics, at most 4 are possible")
        }
        return RPCLog(
            address: try object.address("address"), topics: topics, data: try object.data("data"),
            blockNumber: try object.quantity("blockNumber"), blockHash: try object.hash("blockHash"),
            transactionHash: try object.hash("transactionHash"),
            transactionIndex: try object.index("transactionIndex"), logIndex: try object.index("logIndex"),
            removed: try object.optionalBool("removed") ?? false)
    }

    /// The result of `eth_getLogs`.
    public static func logs(_ json: Any) throws -> [RPCLog] {
        guard let list = json as? [Any] else { throw EVMError(.invalidResponse, "logs: expected an array") }
        return try list.enumerated().map { try log($1, field: "logs[\($0)]") }
    }

    /// A transaction receipt; its logs must belong to it (same block and transaction).
    public static func receipt(_ json: Any, field: String = "receipt") throws -> RPCReceipt {
        let object = try Fields(json, field)
        let receipt = RPCReceipt(
            transactionHash: try object.hash("transactionHash"), transactionIndex: try object.index("transactionIndex"),
            blockHash: try object.hash("blockHash"), blockNumber: try object.quantity("blockNumber"),
            status: try object.optionalQuantity("status"),
            logs: try object.list("logs").enumerated().map { try log($1, field: "\(field).logs[\($0)]") },
            logsBloom: try object.bloom("logsBloom"))
        for (index, log) in receipt.logs.enumerated()
        where log.blockHash != receipt.blockHash || log.transactionHash != receipt.transactionHash {
            throw EVMError(
                .invalidResponse, "\(field).logs[\(index)]: belongs to another block or transaction than its receipt")
        }
        return receipt
    }

    /// A quantity such as `"0x1ac9f3"`.
    public static func quantity(_ text: String, _ field: String) throws -> UInt64 {
        guard text.hasPrefix("0x"), text.count > 2, text.count <= 18, let value = UInt64(text.dropFirst(2), radix: 16)
        else {
            throw EVMError(.invalidResponse, "\(field): expected a hex quantity such as 0x1a, got '\(text.prefix(40))'")
        }
        return value
    }

    /// Checks 0x hex of exactly `bytes` bytes (any even length when `nil`) and lowercases it.
    static func hex(_ text: String, bytes: Int?, _ field: String) throws -> String {
        let decoded: [UInt8]
        do {
            decoded = try Hex.decode(text)
        } catch {
            throw EVMError(
                .invalidResponse, "\(field): \(error is EVMError ? (error as! EVMError).reason : "\(error)")")
        }
        if let bytes, decoded.count != bytes {
            throw EVMError(.invalidResponse, "\(field): expected \(bytes) bytes, got \(decoded.count)")
        }
        return text.lowercased()
    }

    /// Field access with errors that name the field.
    struct Fields {
        let object: [String: Any]
        let path: String

        init(_ json: Any, _ path: String) throws {
            guard let object = json as? [String: Any] else {
                throw EVMError(.invalidResponse, "\(path): expected an object")
            }
            self.object = object
            self.path = path
        }

        func raw(_ key: String) -> Any? { object[key] }

        func string(_ key: String) throws -> String {
            guard let text = object[key] as? String else {
                throw EVMError(
                    .invalidResponse,
                    "\(path).\(key): \(object[key] == nil || object[key] is NSNull ? "missing" : "expected a string")")
            }
            return text
        }

        func quantity(_ key: String) throws -> UInt64 { try RPCDecoding.quantity(try string(key), "\(path).\(key)") }

        func optionalQuantity(_ key: String) throws -> UInt64? {
            guard object[key] != nil, !(object[key] is NSNull) else { return nil }
            return try quantity(key)
        }

        func index(_ key: String) throws -> UInt32 {
            let value = try quantity(key)
            guard value <= UInt64(UInt32.max) else {
                throw EVMError(.invalidResponse, "\(path).\(key): \(value) is too large for an index")
            }
            return UInt32(value)
        }

        func hash(_ key: String) throws -> String { try hex(try string(key), bytes: 32, "\(path).\(key)") }
        func address(_ key: String) throws -> String { try hex(try string(key), bytes: 20, "\(path).\(key)") }
        func data(_ key: String) throws -> String { try hex(try string(key), bytes: nil, "\(path).\(key)") }

        func bloom(_ key: String) throws -> [UInt8] {
            let text = try string(key)
            let bytes: [UInt8]
            do { bytes = try Hex.decode(text) } catch {
                throw EVMError(.invalidResponse, "\(path).\(key): not hex")
            }
            guard bytes.count == 256 else {
                throw EVMError(.invalidResponse, "\(path).\(key): expected 256 bytes, got \(bytes.count)")
            }
            return bytes
        }

        func list(_ key: String) throws -> [Any] {
            guard let list = object[key] as? [Any] else {
                throw EVMError(
                    .invalidResponse, "\(path).\(key): \(object[key] == nil ? "missing" : "expected an array")")
            }
            return list
        }

        func optionalBool(_ key: String) throws -> Bool? {
            guard let value = object[key], !(value is NSNull) else { return nil }
            guard let flag = value as? Bool else {
                throw EVMError(.invalidResponse, "\(path).\(key): expected true or false")
            }
            return flag
        }
    }
}

/// The logs bloom of the yellow paper: for the address and each topic, three bits chosen by
/// the keccak-256 of the value. Used to check that a block's logs are complete.
public enum LogsBloom {
    /// Whether `bloom` (256 bytes) may contain `value` (an address or topic, raw bytes).
    public static func mayContain(_ bloom: [UInt8], _ value: [UInt8]) -> Bool {
        bits(of: value).allSatisfy { bloom[$0.byte] & $0.mask != 0 }
    }

    /// The bloom of `logs` (address and topics of each).
    public static func of(_ logs: [RPCLog]) throws -> [UInt8] {
        var bloom = [UInt8](repeating: 0, count: 256)
        for log in logs {
            for value in [log.address] + log.topics {
                for bit in bits(of: try Hex.decode(value)) { bloom[bit.byte] |= bit.mask }
            }
        }
        return bloom
    }

    /// The three bloom bits of `value`: 11-bit indexes from the first three byte pairs of its hash.
    private static func bits(of value: [UInt8]) -> [(byte: Int, mask: UInt8)] {
        let hash = Keccak256.hash(value)
        return stride(from: 0, to: 6, by: 2).map { pair in
            let bit = (Int(hash[pair]) << 8 | Int(hash[pair + 1])) & 2047
            return (255 - bit / 8, UInt8(1) << (bit % 8))
        }
    }
}
