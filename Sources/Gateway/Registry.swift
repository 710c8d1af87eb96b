import EventLog
import Foundation
import FunctionHost
import Logging
import Processor
import SwiftProtobuf
import TributaryModel

/// The registry as the gateway manages it: functions, triggers and keys in their compacted
/// topics, followed so reads see every writer's changes, and written so a caller reads its own
/// writes (each write returns once this gateway's view includes it).
final class Registry: Sendable {
    let functions: CompactedTopicFollower
    let triggers: CompactedTopicFollower
    let keys: CompactedTopicFollower
    private let log: any EventLog
    private let encoding: RecordEncoding
    private let policy: FunctionLimitPolicy
    private let abis: ABIRegistryBuilder
    private let logger: Logger

    init(
        log: any EventLog, encoding: RecordEncoding, policy: FunctionLimitPolicy, abis: ABIRegistryBuilder,
        logger: Logger
    ) {
        self.log = log
        self.encoding = encoding
        self.policy = policy
        self.abis = abis
        self.logger = logger
        functions = CompactedTopicFollower(log: log, topic: StandardTopic.functions.name)
        triggers = CompactedTopicFollower(log: log, topic: StandardTopic.triggers.name)
        keys = CompactedTopicFollower(log: log, topic: StandardTopic.apiKeys.name)
    }

    var followers: [CompactedTopicFollower] { [functions, triggers, keys] }
    var isLoaded: Bool { followers.allSatisfy(\.isLoaded) }

    // MARK: Reading

    static func records<M: SwiftProtobuf.Message>(_ type: M.Type, in view: CompactedTopicView) -> [(String, M)] {
        view.values.compactMap { key, stored in
            guard let value = stored.value,
                let message = try? RecordEncoding.decode(type, from: value, contentType: stored.contentType)
            else { return nil }
            return (String(decoding: key, as: UTF8.self), message)
        }
        .sorted { $0.0 < $1.0 }
    }

    /// The latest version of every function (versioned keys `name@N` are left out).
    func latestFunctions() -> [Tributary_V1_FunctionRecord] {
        Self.records(Tributary_V1_FunctionRecord.self, in: functions.snapshot.view).filter { !$0.0.contains("@") }.map(
            \.1)
    }

    /// Function `name` at `version` (0: the latest).
    func function(_ name: String, version: UInt32 = 0) -> Tributary_V1_FunctionRecord? {
        let key = version == 0 ? name : "\(name)@\(version)"
        guard let stored = functions.snapshot.view.values[Array(key.utf8)], let value = stored.value else { return nil }
        return try? RecordEncoding.decode(
            Tributary_V1_FunctionRecord.self, from: value, contentType: stored.contentType)
    }

    /// Every stored version of function `name`, oldest first.
    func versions(of name: String) -> [UInt32] {
        Self.records(Tributary_V1_FunctionRecord.self, in: functions.snapshot.view).compactMap { key, record in
            key.hasPrefix(name + "@") && record.name == name ? record.version : nil
        }
        .sorted()
    }

    func trigger(_ id: String) -> Tributary_V1_TriggerRecord? {
        guard let stored = triggers.snapshot.view.values[Array(id.utf8)], let value = stored.value else { return nil }
        return try? RecordEncoding.decode(Tributary_V1_TriggerRecord.self, from: value, contentType: stored.contentType)
    }

    func allTriggers() -> [Tributary_V1_TriggerRecord] {
        Self.records(Tributary_V1_TriggerRecord.self, in: triggers.snapshot.view).map(\.1)
    }

    func key(_ id: String) -> Tributary_V1_ApiKeyRecord? {
        guard let stored = keys.snapshot.view.values[Array(id.utf8)], let value = stored.value else { return nil }
        return try? RecordEncoding.decode(Tributary_V1_ApiKeyRecord.self, from: value, contentType: stored.contentType)
    }

    func allKeys() -> [Tributary_V1_ApiKeyRecord] {
        Self.records(Tributary_V1_ApiKeyRecord.self, in: keys.snapshot.view).map(\.1)
    }

    // MARK: Writing

    /// Deploys a new version of a function after validating its module as the host will.
    ///
    /// - Throws: 400 `invalid_function` naming what is wrong.
    func deploy(
        name: String, module: [UInt8], manifest: Tributary_V1_FunctionManifest
    ) async throws
        -> Tributary_V1_FunctionRecord
    {
        try Self.validateName(name, what: "function name")
        guard !module.isEmpty else {
            throw GatewayError(.badRequest, .invalidFunction, "module: expected the WebAssembly module, base64-encoded")
        }
        do {
            _ = try CompiledFunction(bytes: module, manifest: manifest, policy: policy, name: name)
        } catch let error as FunctionHostError {
            throw GatewayError(.badRequest, .invalidFunction, "function \(name): \(error.reason)")
        }
        let record = RegistryRecords.function(
            name: name, version: (versions(of: name).last ?? function(name)?.version ?? 0) + 1, module: module,
            manifest: manifest)
        try await write(try RegistryRecords.appends(for: record, encoding: encoding), to: functions)
        logger.info("function deployed", metadata: ["function": "\(name)", "version": "\(record.version)"])
        return record
    }

    /// Deletes function `name` with every version; returns false when there was none.
    func deleteFunction(_ name: String) async throws -> Bool {
        let keys = functions.snapshot.view.values.keys.map { String(decoding: $0, as: UTF8.self) }.filter {
            $0 == name || $0.hasPrefix(name + "@")
        }
        guard !keys.isEmpty else { return false }
        try await write(keys.map { outgoing(StandardTopic.functions, key: $0, value: nil) }, to: functions)
        return true
    }

    /// Validates and stores a trigger (a new id when it has none).
    ///
    /// - Throws: 400 `invalid_trigger` naming the field.
    func putTrigger(_ trigger: Tributary_V1_TriggerRecord) async throws -> Tributary_V1_TriggerRecord {
        var trigger = trigger
        if trigger.id.isEmpty { trigger.id = "trg_" + APIKeySecret.generateID() }
        try Self.validateName(trigger.id, what: "trigger id")
        _ = try compile(trigger)
        guard function(trigger.functionName, version: trigger.functionVersion) != nil else {
            throw GatewayError(
                .badRequest, .invalidTrigger,
                "trigger \(trigger.id): function '\(trigger.functionName)'\(trigger.functionVersion == 0 ? "" : " version \(trigger.functionVersion)") is not deployed"
            )
        }
        if !trigger.hasCreatedAt { trigger.createdAt = Google_Protobuf_Timestamp(date: Date()) }
        try await write([try RegistryRecords.append(for: trigger, encoding: encoding)], to: triggers)
        return trigger
    }

    /// The trigger compiled as the router compiles it.
    func compile(_ trigger: Tributary_V1_TriggerRecord) throws -> CompiledTrigger {
        let registry = abis.registry(withFunctions: functions.snapshot.view, logger: logger)
        do {
            return try CompiledTrigger(trigger, resolver: EVMEventResolver(registry: registry))
        } catch let error as ProcessorError {
            throw GatewayError(.badRequest, .invalidTrigger, error.reason)
        }
    }

    func deleteTrigger(_ id: String) async throws -> Bool {
        guard trigger(id) != nil else { return false }
        try await write([outgoing(StandardTopic.triggers, key: id, value: nil)], to: triggers)
        return true
    }

    /// Creates a key; returns its record and the secret, which is shown once and stored only hashed.
    func createKey(
        name: String, scopes: [APIScope], allowedOrigins: [String]
    ) async throws
        -> (Tributary_V1_ApiKeyRecord, String)
    {
        let secret = APIKeySecret.generate()
        var record = Tributary_V1_ApiKeyRecord()
        record.id = "key_" + APIKeySecret.generateID()
        record.name = name
        record.secretSha256 = APIKeySecret.sha256(Array(secret.utf8))
        record.scopes = scopes.map(\.rawValue)
        record.allowedOrigins = allowedOrigins.map(OriginPolicy.normalize)
        record.createdAt = Google_Protobuf_Timestamp(date: Date())
        try await write([outgoing(StandardTopic.apiKeys, key: record.id, value: try encoding.encode(record))], to: keys)
        logger.info("API key created", metadata: ["key": "\(record.id)", "scopes": "\(record.scopes)"])
        return (record, secret)
    }

    /// Marks a key revoked (the record stays, so listings show when).
    func revokeKey(_ id: String) async throws -> Tributary_V1_ApiKeyRecord? {
        guard var record = key(id) else { return nil }
        if !record.hasRevokedAt {
            record.revokedAt = Google_Protobuf_Timestamp(date: Date())
            try await write([outgoing(StandardTopic.apiKeys, key: id, value: try encoding.encode(record))], to: keys)
            logger.info("API key revoked", metadata: ["key": "\(id)"])
        }
        return record
    }

    private func outgoing(_ topic: StandardTopic, key: String, value: [UInt8]?) -> OutgoingRecord {
        RegistryRecords.outgoing(topic, key: key, value: value, encoding: encoding)
    }

    private func write(_ records: [OutgoingRecord], to follower: CompactedTopicFollower) async throws {
        let positions = try await log.append(records)
        guard await follower.waitUntilApplied(positions, timeout: .seconds(10)) else {
            throw GatewayError(
                .serviceUnavailable, .unavailable, "the change was stored but is not visible yet; read it again shortly"
            )
        }
    }

    /// Names and ids: 1–64 of `a-z A-Z 0-9 . _ -`, starting with a letter or digit.
    static func validateName(_ name: String, what: String) throws {
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")
        guard (1...64).contains(name.count), name.allSatisfy(allowed.contains),
            name.first?.isLetter == true || name.first?.isNumber == true
        else {
            throw GatewayError.badRequest(
                "\(what) '\(name)': expected 1–64 letters, digits, '.', '_' or '-', starting with a letter or digit")
        }
    }
}

/// Registry records as every writer stores them (the gateway, and `tributary dev` deploying its
/// example): a function version under its name and under `name@version`, a trigger under its id.
public enum RegistryRecords {
    /// A function version with its module's SHA-256 and the time.
    public static func function(
        name: String, version: UInt32, module: [UInt8], manifest: Tributary_V1_FunctionManifest
    ) -> Tributary_V1_FunctionRecord {
        var record = Tributary_V1_FunctionRecord()
        record.name = name
        record.version = version
        record.module = Data(module)
        record.moduleSha256 = APIKeySecret.sha256(module)
        record.manifest = manifest
        record.createdAt = Google_Protobuf_Timestamp(date: Date())
        return record
    }

    /// The two appends that deploy `record`.
    public static func appends(
        for record: Tributary_V1_FunctionRecord, encoding: RecordEncoding
    ) throws
        -> [OutgoingRecord]
    {
        let value = try encoding.encode(record)
        return [
            outgoing(StandardTopic.functions, key: record.name, value: value, encoding: encoding),
            outgoing(
                StandardTopic.functions, key: "\(record.name)@\(record.version)", value: value, encoding: encoding),
        ]
    }

    /// The append that stores `trigger` (stamped with the time when it has none).
    public static func append(
        for trigger: Tributary_V1_TriggerRecord, encoding: RecordEncoding
    ) throws
        -> OutgoingRecord
    {
        var trigger = trigger
        if !trigger.hasCreatedAt { trigger.createdAt = Google_Protobuf_Timestamp(date: Date()) }
        return outgoing(
            StandardTopic.triggers, key: trigger.id, value: try encoding.encode(trigger), encoding: encoding)
    }

    static func outgoing(
        _ topic: StandardTopic, key: String, value: [UInt8]?, encoding: RecordEncoding
    ) -> OutgoingRecord {
        OutgoingRecord(
            topic: topic.name, key: Array(key.utf8), value: value,
            headers: value == nil ? [] : [RecordHeader(name: RecordEncoding.headerName, text: encoding.contentType)])
    }
}
