import AsyncHTTPClient
import EventLog
import Foundation
import FunctionHost
import HTTPTypes
import Logging
import NIOCore
import NIOHTTP1
import Synchronization
import TributaryModel
import WSClient

@testable import Gateway

/// A live gateway on 127.0.0.1, port 0, over an in-memory log with the standard topics, and
/// optionally a wasm-host on the same log; real HTTP (AsyncHTTPClient) and WebSocket (WSClient)
/// clients talk to it.
final class GatewayHarness: Sendable {
    static let adminKey = "trb_test_admin_key"

    let log: InMemoryEventLog
    let port: Int
    let service: GatewayService
    private let tasks: [Task<Void, any Error>]

    var base: String { "http://127.0.0.1:\(port)" }

    static func start(
        runHost: Bool = false, _ adjust: (inout GatewayConfiguration) -> Void = { _ in }
    ) async throws -> GatewayHarness {
        let log = InMemoryEventLog()
        for topic in StandardTopic.all {
            try await log.createTopic(TopicConfiguration(name: topic.name, partitions: 3, compacted: topic.compacted))
        }
        var configuration = GatewayConfiguration(
            port: 0, allowedOrigins: ["https://app.example"], adminKey: adminKey, heartbeatInterval: .seconds(1))
        adjust(&configuration)
        let (ports, continuation) = AsyncStream<Int>.makeStream()
        var logger = Logger(label: "gateway-test")
        logger.logLevel = .warning
        let service = GatewayService(
            log: log, configuration: configuration, logger: logger,
            metrics: { Array("# TYPE tributary_test_total counter\ntributary_test_total 1\n".utf8) }
        ) { port in
            continuation.yield(port)
        }
        var tasks = [Task { try await service.run() }]
        if runHost {
            tasks.append(Task { try await FunctionHostService(log: log, logger: logger).run() })
        }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next(), port > 0 else {
            throw HarnessError(reason: "the gateway did not start")
        }
        return GatewayHarness(log: log, port: port, service: service, tasks: tasks)
    }

    private init(log: InMemoryEventLog, port: Int, service: GatewayService, tasks: [Task<Void, any Error>]) {
        self.log = log
        self.port = port
        self.service = service
        self.tasks = tasks
    }

    func stop() async {
        for task in tasks { task.cancel() }
        for task in tasks { _ = await task.result }
    }

    struct Reply {
        var status: Int
        var headers: HTTPHeaders
        var body: [UInt8]
        var json: [String: Any] { (try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any]) ?? [:] }
        var errorCode: String? { (json["error"] as? [String: Any])?["code"] as? String }
        var errorMessage: String { (json["error"] as? [String: Any])?["message"] as? String ?? "" }
    }

    func request(
        _ method: HTTPMethod, _ path: String, key: String? = GatewayHarness.adminKey, json: Any? = nil,
        body: [UInt8]? = nil, headers: [(String, String)] = []
    ) async throws -> Reply {
        var request = HTTPClientRequest(url: base + path)
        request.method = method
        if let key { request.headers.add(name: "Authorization", value: "Bearer \(key)") }
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let json {
            request.body = .bytes(ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: json)))
            request.headers.add(name: "Content-Type", value: "application/json")
        } else if let body {
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
        let buffer = try await response.body.collect(upTo: 64 << 20)
        return Reply(
            status: Int(response.status.code), headers: response.headers, body: Array(buffer.readableBytesView))
    }

    /// Creates a key with `scopes` through the API and returns its secret.
    func createKey(_ scopes: [String], origins: [String] = []) async throws -> String {
        let reply = try await request(
            .POST, "/v1/keys", json: ["name": "test", "scopes": scopes, "allowedOrigins": origins])
        guard reply.status == 201, let key = reply.json["key"] as? String else {
            throw HarnessError(
                reason: "key creation failed: \(reply.status) \(String(decoding: reply.body, as: UTF8.self))")
        }
        return key
    }

    /// Appends canonical events to the log, as the processor would.
    func appendEvents(_ events: [Tributary_V1_CanonicalEvent]) async throws {
        _ = try await log.append(
            try events.map { event in
                OutgoingRecord(
                    topic: StandardTopic.canonicalEvents.name, key: event.id,
                    value: try RecordEncoding.json.encode(event),
                    headers: [RecordHeader(name: RecordEncoding.headerName, text: RecordEncoding.json.contentType)])
            })
    }

    static func event(
        _ index: Int, address: String = "0x00000000000000000000000000000000000000aa"
    ) -> Tributary_V1_CanonicalEvent {
        var event = Tributary_V1_CanonicalEvent()
        event.id = "eip155:1:0x\(String(format: "%064x", index)):0"
        event.chainID = "eip155:1"
        event.blockNumber = UInt64(index)
        event.address = address
        event.status = .pending
        return event
    }
}

struct HarnessError: Error, CustomStringConvertible {
    var reason: String
    var description: String { reason }
}

/// Messages a test client received.
final class Inbox: Sendable {
    private let received = Mutex<[String]>([])
    func append(_ text: String) { received.withLock { $0.append(text) } }
    /// Frames received (a batched frame holds several messages, one per line).
    var frames: Int { received.withLock { $0.count } }
    var messages: [[String: Any]] {
        received.withLock { $0 }.flatMap { $0.split(separator: "\n") }.compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
    }
}

/// A WebSocket client for tests: messages received are collected; `send` writes text.
final class StreamClient: Sendable {
    private let inbox = Inbox()
    private let outgoing: AsyncStream<String>.Continuation
    private let task: Task<WebSocketCloseFrame?, any Error>

    /// Connects; throws when the upgrade is refused.
    static func connect(
        port: Int, key: String?, origin: String? = nil, protocols: [String] = [], maxFrameSize: Int = 1 << 20,
        query: String = ""
    ) async throws -> StreamClient {
        var headers = HTTPFields()
        if let key { headers[.authorization] = "Bearer \(key)" }
        if let origin { headers.append(HTTPField(name: .origin, value: origin)) }
        if !protocols.isEmpty { headers[.secWebSocketProtocol] = protocols.joined(separator: ", ") }
        let (opened, openedContinuation) = AsyncStream<Result<Void, any Error>>.makeStream()
        let client = StreamClient(
            url: "ws://127.0.0.1:\(port)/v1/stream\(query)", headers: headers, maxFrameSize: maxFrameSize,
            opened: openedContinuation)
        var iterator = opened.makeAsyncIterator()
        switch await iterator.next() {
        case .success?: return client
        case .failure(let error)?: throw error
        case nil: throw HarnessError(reason: "the WebSocket closed before opening")
        }
    }

    private init(
        url: String, headers: HTTPFields, maxFrameSize: Int, opened: AsyncStream<Result<Void, any Error>>.Continuation
    ) {
        let (stream, outgoing) = AsyncStream<String>.makeStream()
        self.outgoing = outgoing
        let inbox = self.inbox
        task = Task {
            do {
                let close = try await WebSocketClient.connect(
                    url: url,
                    configuration: .init(maxFrameSize: maxFrameSize, additionalHeaders: headers),
                    logger: Logger(label: "ws-test")
                ) { inbound, outbound, _ in
                    opened.yield(.success(()))
                    try await withThrowingTaskGroup(of: Void.self) { group in
                        group.addTask {
                            for await text in stream { try await outbound.write(.text(text)) }
                        }
                        group.addTask {
                            for try await message in inbound.messages(maxSize: 1 << 22) {
                                guard case .text(let text) = message else { continue }
                                inbox.append(text)
                            }
                        }
                        _ = try await group.next()
                        group.cancelAll()
                    }
                }
                opened.yield(.failure(HarnessError(reason: "closed")))
                return close
            } catch {
                opened.yield(.failure(error))
                throw error
            }
        }
    }

    func send(_ object: [String: Any]) throws {
        outgoing.yield(String(decoding: try JSONSerialization.data(withJSONObject: object), as: UTF8.self))
    }

    func sendText(_ text: String) { outgoing.yield(text) }

    var messages: [[String: Any]] { inbox.messages }
    var frames: Int { inbox.frames }

    /// Waits until `predicate` holds for the messages received so far (or `timeout` passes).
    @discardableResult
    func waitFor(_ predicate: ([[String: Any]]) -> Bool, timeout: Duration = .seconds(30)) async -> [[String: Any]] {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let current = messages
            if predicate(current) { return current }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return messages
    }

    /// Waits until `count` frames arrived (cheap: nothing is parsed), or `timeout` passes.
    func waitForFrames(_ count: Int, timeout: Duration) async {
        let deadline = ContinuousClock.now + timeout
        while frames < count, ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(50)) }
    }

    /// The close frame once the server closed the connection.
    func closed() async throws -> WebSocketCloseFrame? { try await task.value }

    func close() {
        outgoing.finish()
        task.cancel()
    }
}
