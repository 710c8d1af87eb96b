import EventLog
import Foundation
import Hummingbird
import NIOCore
import Processor
import SwiftProtobuf
import Synchronization
import TributaryModel

/// The `/v1` REST routes. Each is registered through ``RouteTable/add`` so the OpenAPI document
/// can be checked against exactly what is served.
struct RESTRoutes: Sendable {
    let registry: Registry
    let gatekeeper: Gatekeeper
    let invocations: InvocationTracker
    let log: any EventLog
    let configuration: GatewayConfiguration
    let metrics: (@Sendable () -> [UInt8])?

    func register(on router: Router<BasicRequestContext>, table: RouteTable) {
        table.add(router, .get, "/healthz") { _, _ in
            Self.json(.ok, ["status": "ok"])
        }
        table.add(router, .get, "/readyz") { [registry, invocations] _, _ in
            let ready = registry.isLoaded && invocations.isRunning
            return Self.json(ready ? .ok : .serviceUnavailable, ["status": ready ? "ready" : "starting"])
        }
        table.add(router, .get, "/metrics") { [metrics] request, _ in
            // Operators' data: scraped with an admin key (Prometheus sends it as a bearer token).
            try gatekeeper.authorize(request.headers, for: .admin)
            guard let metrics else {
                throw GatewayError(.serviceUnavailable, .unavailable, "metrics are not collected in this process")
            }
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(bytes: metrics())))
        }
        table.add(router, .get, "/v1/openapi.json") { _, _ in
            Self.json(.ok, bytes: Array(OpenAPIDocument.json.utf8))
        }

        // Functions
        table.add(router, .post, "/v1/functions") { request, context in
            try gatekeeper.authorize(request.headers, for: .functionsWrite)
            var request = request
            let body = try await Self.body(of: &request, limit: configuration.maxBodyBytes)
            let submitted = try Self.decode(Tributary_V1_FunctionRecord.self, from: body, what: "function")
            let record = try await registry.deploy(
                name: submitted.name, module: Array(submitted.module), manifest: submitted.manifest)
            return Self.json(.created, bytes: try Self.summary(of: record).jsonUTF8Bytes())
        }
        table.add(router, .get, "/v1/functions") { request, _ in
            try gatekeeper.authorize(request.headers, for: .functionsWrite)
            return Self.json(
                .ok, list: "functions", try registry.latestFunctions().map { try Self.summary(of: $0).jsonUTF8Bytes() })
        }
        table.add(router, .get, "/v1/functions/:name") { request, context in
            try gatekeeper.authorize(request.headers, for: .functionsWrite)
            let name = try context.parameters.require("name")
            let version = try Self.version(in: request)
            guard let record = registry.function(name, version: version) else {
                throw GatewayError.notFound(
                    "function '\(name)'\(version == 0 ? "" : " version \(version)") is not deployed")
            }
            var bytes: [UInt8] = try Self.summary(of: record).jsonUTF8Bytes()
            bytes.removeLast()
            bytes += Array(
                ",\"versions\":[\(registry.versions(of: name).map(String.init).joined(separator: ","))]}".utf8)
            return Self.json(.ok, bytes: bytes)
        }
        table.add(router, .delete, "/v1/functions/:name") { request, context in
            try gatekeeper.authorize(request.headers, for: .functionsWrite)
            let name = try context.parameters.require("name")
            guard try await registry.deleteFunction(name) else {
                throw GatewayError.notFound("function '\(name)' is not deployed")
            }
            return Response(status: .noContent)
        }
        table.add(router, .post, "/v1/functions/:name/invoke") { request, context in
            try gatekeeper.authorize(request.headers, for: .functionsWrite)
            let name = try context.parameters.require("name")
            let version = try Self.version(in: request)
            guard let function = registry.function(name, version: version) else {
                throw GatewayError.notFound(
                    "function '\(name)'\(version == 0 ? "" : " version \(version)") is not deployed")
            }
            let timeout = try timeout(in: request)
            var request = request
            let body = try await Self.body(of: &request, limit: configuration.maxBodyBytes)
            guard (try? JSONSerialization.jsonObject(with: Data(body), options: [.fragmentsAllowed])) != nil else {
                throw GatewayError(.badRequest, .invalidJSON, "the input must be JSON")
            }
            var invocation = Tributary_V1_InvocationRequest()
            invocation.invocationID = "inv_" + APIKeySecret.generateID() + APIKeySecret.generateID()
            invocation.functionName = function.name
            invocation.functionVersion = function.version
            invocation.input = Data(body)
            invocation.attempt = 1
            // Runs even if the caller stops waiting; the host drops it if it cannot start within 5 minutes.
            invocation.deadline = Google_Protobuf_Timestamp(date: Date().addingTimeInterval(300))
            invocations.expect(invocation.invocationID)
            _ = try await log.append([
                OutgoingRecord(
                    topic: StandardTopic.functionInvocations.name, key: invocation.invocationID,
                    value: try configuration.encoding.encode(invocation),
                    headers: [RecordHeader(name: RecordEncoding.headerName, text: configuration.encoding.contentType)])
            ])
            guard let result = await invocations.result(of: invocation.invocationID, timeout: timeout) else {
                return Self.json(
                    .accepted,
                    [
                        "invocationId": invocation.invocationID, "status": "pending",
                        "location": "/v1/invocations/\(invocation.invocationID)",
                    ])
            }
            return Self.json(.ok, bytes: try result.jsonUTF8Bytes())
        }
        table.add(router, .get, "/v1/invocations/:id") { request, context in
            try gatekeeper.authorize(request.headers, for: .resultsRead)
            let id = try context.parameters.require("id")
            switch invocations.lookup(id) {
            case .done(let result): return Self.json(.ok, bytes: try result.jsonUTF8Bytes())
            case .pending: return Self.json(.accepted, ["invocationId": id, "status": "pending"])
            case .unknown:
                throw GatewayError.notFound(
                    "invocation '\(id)' is unknown to this gateway: it was not started here, or its result is older than the last \(configuration.recentResults) (read function-results instead)"
                )
            }
        }

        // Triggers
        table.add(router, .post, "/v1/triggers") { request, context in
            try gatekeeper.authorize(request.headers, for: .functionsWrite)
            var request = request
            let body = try await Self.body(of: &request, limit: configuration.maxBodyBytes)
            let trigger = try await registry.putTrigger(
                try Self.decode(Tributary_V1_TriggerRecord.self, from: body, what: "trigger"))
            return Self.json(.created, bytes: try trigger.jsonUTF8Bytes())
        }
        table.add(router, .get, "/v1/triggers") { request, _ in
            try gatekeeper.authorize(request.headers, for: .functionsWrite)
            return Self.json(.ok, list: "triggers", try registry.allTriggers().map { try $0.jsonUTF8Bytes() })
        }
        table.add(router, .get, "/v1/triggers/:id") { request, context in
            try gatekeeper.authorize(request.headers, for: .functionsWrite)
            let id = try context.parameters.require("id")
            guard let trigger = registry.trigger(id) else {
                throw GatewayError.notFound("trigger '\(id)' does not exist")
            }
            return Self.json(.ok, bytes: try trigger.jsonUTF8Bytes())
        }
        table.add(router, .delete, "/v1/triggers/:id") { request, context in
            try gatekeeper.authorize(request.headers, for: .functionsWrite)
            let id = try context.parameters.require("id")
            guard try await registry.deleteTrigger(id) else {
                throw GatewayError.notFound("trigger '\(id)' does not exist")
            }
            return Response(status: .noContent)
        }
        table.add(router, .post, "/v1/triggers/test") { request, context in
            try gatekeeper.authorize(request.headers, for: .functionsWrite)
            var request = request
            let body = try await Self.body(of: &request, limit: configuration.maxBodyBytes)
            return try await testTrigger(body)
        }

        // Keys
        table.add(router, .post, "/v1/keys") { request, context in
            try gatekeeper.authorize(request.headers, for: .admin)
            var request = request
            let body = try await Self.body(of: &request, limit: 64 << 10)
            let fields = try Self.object(body)
            let name = fields["name"] as? String ?? ""
            guard !name.isEmpty, name.count <= 128 else {
                throw GatewayError.badRequest("name: expected a name for the key (1–128 characters)")
            }
            guard let scopeNames = fields["scopes"] as? [String], !scopeNames.isEmpty else {
                throw GatewayError.badRequest(
                    "scopes: expected a non-empty list of \(APIScope.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            let scopes = try scopeNames.map { name in
                guard let scope = APIScope(rawValue: name) else {
                    throw GatewayError.badRequest(
                        "scopes: '\(name)' is not a scope; expected \(APIScope.allCases.map(\.rawValue).joined(separator: ", "))"
                    )
                }
                return scope
            }
            guard fields["allowedOrigins"] == nil || fields["allowedOrigins"] is [String] else {
                throw GatewayError.badRequest(
                    "allowedOrigins: expected a list of origins such as https://app.example.com")
            }
            let (record, secret) = try await registry.createKey(
                name: name, scopes: scopes, allowedOrigins: fields["allowedOrigins"] as? [String] ?? [])
            var bytes: [UInt8] = try Self.publicView(of: record).jsonUTF8Bytes()
            bytes.removeLast()
            bytes += Array(",\"key\":\"\(secret)\"}".utf8)
            return Self.json(.created, bytes: bytes)
        }
        table.add(router, .get, "/v1/keys") { request, _ in
            try gatekeeper.authorize(request.headers, for: .admin)
            return Self.json(
                .ok, list: "keys", try registry.allKeys().map { try Self.publicView(of: $0).jsonUTF8Bytes() })
        }
        table.add(router, .delete, "/v1/keys/:id") { request, context in
            try gatekeeper.authorize(request.headers, for: .admin)
            let id = try context.parameters.require("id")
            guard let record = try await registry.revokeKey(id) else {
                throw GatewayError.notFound("key '\(id)' does not exist")
            }
            return Self.json(.ok, bytes: try Self.publicView(of: record).jsonUTF8Bytes())
        }
    }

    /// `POST /v1/triggers/test`: `{"trigger": …, "event": …}` evaluates one event;
    /// `{"trigger": …, "recent": N}` the last N canonical events (at most 10,000).
    private func testTrigger(_ body: [UInt8]) async throws -> Response {
        let fields = try Self.object(body)
        guard let triggerFields = fields["trigger"] as? [String: Any] else {
            throw GatewayError.badRequest("trigger: expected the trigger to test")
        }
        var trigger = try Self.decode(
            Tributary_V1_TriggerRecord.self,
            from: Array(try JSONSerialization.data(withJSONObject: triggerFields)), what: "trigger")
        if trigger.id.isEmpty { trigger.id = "test" }
        if trigger.functionName.isEmpty { trigger.functionName = "test" }
        let index = TriggerIndex([try registry.compile(trigger)])
        var events: [Tributary_V1_CanonicalEvent] = []
        if let eventValue = fields["event"] {
            // Checked first: Foundation stops the process when asked to serialize a non-object.
            guard let eventFields = eventValue as? [String: Any] else {
                throw GatewayError(.badRequest, .invalidJSON, "event: expected a canonical event object")
            }
            events = [
                try Self.decode(
                    Tributary_V1_CanonicalEvent.self,
                    from: Array(try JSONSerialization.data(withJSONObject: eventFields)),
                    what: "event")
            ]
        } else {
            let recent = fields["recent"] as? Int ?? 100
            guard (1...10_000).contains(recent) else { throw GatewayError.badRequest("recent: expected 1 to 10000") }
            events = try await recentEvents(recent)
        }
        let matches = events.filter { !index.matches($0).isEmpty }
        var bytes = Array("{\"evaluated\":\(events.count),\"matched\":\(matches.count),\"matches\":[".utf8)
        for (position, event) in matches.prefix(100).enumerated() {
            if position > 0 { bytes.append(UInt8(ascii: ",")) }
            bytes += try DirectJSON.encode(event)
        }
        bytes += Array("]}".utf8)
        return Self.json(.ok, bytes: bytes)
    }

    /// About the last `count` canonical events, read back from each partition's end.
    private func recentEvents(_ count: Int) async throws -> [Tributary_V1_CanonicalEvent] {
        let topic = try await log.describeTopic(StandardTopic.canonicalEvents.name)
        let perPartition = Int64(max(1, count / max(1, topic.partitions.count)))
        var positions: [TopicPartition: LogPosition] = [:]
        var remaining = 0
        for partition in topic.partitions where partition.endOffset > partition.startOffset {
            let start = max(partition.startOffset, partition.endOffset - perPartition)
            positions[TopicPartition(topic: topic.name, partition: partition.partition)] = .offset(start)
            remaining += Int(partition.endOffset - start)
        }
        guard !positions.isEmpty else { return [] }
        let reader = try await log.makeReader(from: positions)
        var events: [Tributary_V1_CanonicalEvent] = []
        var empty = 0
        while remaining > 0, empty < 3 {
            let records = try await reader.poll(maxRecords: 1_000, timeout: .milliseconds(200))
            if records.isEmpty { empty += 1 }
            remaining -= records.count
            events += records.compactMap { record in
                record.value.flatMap {
                    try? RecordEncoding.decode(
                        Tributary_V1_CanonicalEvent.self, from: $0, contentType: record.contentType)
                }
            }
        }
        await reader.close()
        return events
    }

    // MARK: Helpers

    static func summary(of record: Tributary_V1_FunctionRecord) -> Tributary_V1_FunctionRecord {
        var summary = record
        summary.module = Data()  // bytes stay in the log; the hash identifies them
        return summary
    }

    static func publicView(of record: Tributary_V1_ApiKeyRecord) -> Tributary_V1_ApiKeyRecord {
        var view = record
        view.secretSha256 = ""
        return view
    }

    static func body(of request: inout Request, limit: Int) async throws -> [UInt8] {
        do {
            let buffer = try await request.collectBody(upTo: limit)
            return Array(buffer.readableBytesView)
        } catch let error as HTTPError where error.status == .contentTooLarge {
            throw GatewayError(.contentTooLarge, .payloadTooLarge, "the request body is larger than \(limit) bytes")
        } catch is NIOTooManyBytesError {
            throw GatewayError(.contentTooLarge, .payloadTooLarge, "the request body is larger than \(limit) bytes")
        }
    }

    static func decode<M: SwiftProtobuf.Message>(_ type: M.Type, from body: [UInt8], what: String) throws -> M {
        do {
            return try M(jsonUTF8Bytes: body)
        } catch {
            throw GatewayError(.badRequest, .invalidJSON, "the \(what) is not valid JSON for this API: \(error)")
        }
    }

    static func object(_ body: [UInt8]) throws -> [String: Any] {
        guard let object = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any] else {
            throw GatewayError(.badRequest, .invalidJSON, "expected a JSON object")
        }
        return object
    }

    static func version(in request: Request) throws -> UInt32 {
        guard let text = request.uri.queryParameters.get("version") else { return 0 }
        guard let version = UInt32(text), version > 0 else {
            throw GatewayError.badRequest("version: expected a positive version number, got '\(text)'")
        }
        return version
    }

    func timeout(in request: Request) throws -> Duration {
        guard let text = request.uri.queryParameters.get("timeout") else { return configuration.invokeTimeout }
        guard let milliseconds = Self.milliseconds(text), milliseconds >= 0,
            .milliseconds(milliseconds) <= configuration.maxInvokeTimeout
        else {
            throw GatewayError.badRequest(
                "timeout: expected a duration such as 500ms or 5s, at most \(configuration.maxInvokeTimeout), got '\(text)'"
            )
        }
        return .milliseconds(milliseconds)
    }

    private static func milliseconds(_ text: String) -> Int64? {
        if text.hasSuffix("ms") { return Int64(text.dropLast(2)) }
        if text.hasSuffix("s"), let seconds = Int64(text.dropLast()) {
            let (milliseconds, overflow) = seconds.multipliedReportingOverflow(by: 1_000)
            return overflow ? nil : milliseconds
        }
        return nil
    }

    static func json(_ status: HTTPResponse.Status, bytes: [UInt8]) -> Response {
        Response(
            status: status, headers: [.contentType: "application/json; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    static func json(_ status: HTTPResponse.Status, _ object: [String: Any]) -> Response {
        json(
            status,
            bytes: Array(
                (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]))
                    ?? Data()))
    }

    static func json(_ status: HTTPResponse.Status, list name: String, _ items: [[UInt8]]) -> Response {
        var bytes = Array("{\"\(name)\":[".utf8)
        for (index, item) in items.enumerated() {
            if index > 0 { bytes.append(UInt8(ascii: ",")) }
            bytes += item
        }
        bytes += Array("]}".utf8)
        return json(status, bytes: bytes)
    }
}

/// The routes as registered, for the OpenAPI check.
final class RouteTable: Sendable {
    private let entries = Mutex<[(method: String, path: String)]>([])

    var routes: [(method: String, path: String)] { entries.withLock { $0 } }

    func add(
        _ router: Router<BasicRequestContext>, _ method: HTTPRequest.Method, _ path: String,
        _ handler: @escaping @Sendable (Request, BasicRequestContext) async throws -> Response
    ) {
        entries.withLock { $0.append((method.rawValue, path)) }
        router.on(RouterPath(path), method: method, use: handler)
    }

    func record(_ method: String, _ path: String) {
        entries.withLock { $0.append((method, path)) }
    }
}
