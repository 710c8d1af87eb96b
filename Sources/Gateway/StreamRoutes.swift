import EventLog
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdWebSocket
import Logging
import Metrics
import NIOCore
import ServiceLifecycle
import Synchronization
import TributaryModel

/// `/v1/stream` (WebSocket) and `/v1/stream/sse` (Server-Sent Events): subscriptions to
/// canonical events and function results, from `latest`, `earliest` or a cursor (docs/api.md).
struct StreamRoutes: Sendable {
    let log: any EventLog
    let fanout: Fanout
    let gatekeeper: Gatekeeper
    let configuration: GatewayConfiguration
    let logger: Logger

    static let subprotocol = "tributary.v1"

    /// Registers the WebSocket route. The origin and the key are checked before the upgrade;
    /// a refused upgrade is answered 400 (Hummingbird's fixed answer) and logged with the reason.
    func register(webSocket router: Router<StreamRequestContext>, table: RouteTable) {
        table.record("GET", "/v1/stream")
        router.ws("/v1/stream") { [gatekeeper, logger] request, _ in
            do {
                if let origin = try Gatekeeper.origin(of: request.headers), !gatekeeper.origins.allows(origin) {
                    throw GatewayError(.forbidden, .originNotAllowed, "origin \(origin) is not allowed")
                }
                try gatekeeper.authorizeStream(request.headers)
            } catch {
                logger.notice("WebSocket upgrade refused", metadata: ["reason": "\(error)"])
                return .dontUpgrade
            }
            let offered = request.headers[values: .secWebSocketProtocol].flatMap { $0.split(separator: ",") }.map {
                $0.trimmingCharacters(in: .whitespaces)
            }
            if offered.isEmpty { return .upgrade([:]) }
            guard offered.contains(Self.subprotocol) else {
                logger.notice(
                    "WebSocket upgrade refused",
                    metadata: ["reason": "subprotocols offered without \(Self.subprotocol)"])
                return .dontUpgrade
            }
            return .upgrade([.secWebSocketProtocol: Self.subprotocol])
        } onUpgrade: { inbound, outbound, context in
            // `?frames=batched`: a frame may carry several messages, one per line (fewer frames
            // and system calls when messages come in bursts).
            let batched = context.request.uri.queryParameters.get("frames") == "batched"
            try await serveWebSocket(
                inbound: inbound, outbound: outbound, headers: context.request.headers, batched: batched,
                channel: context.requestContext.channel)
        }
    }

    private func serveWebSocket(
        inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter, headers: HTTPFields, batched: Bool,
        channel: any Channel
    )
        async throws
    {
        let principal: Principal
        let release: @Sendable () -> Void
        do {
            principal = try gatekeeper.authorizeStream(headers)
            release = try gatekeeper.openConnection(for: principal)
        } catch let error as GatewayError {
            try await outbound.close(.unknown(4429), reason: String(error.message.prefix(120)))
            return
        }
        defer { release() }
        let clients = Gauge(label: "tributary_gateway_stream_clients")
        clients.record(Self.openStreams.wrappingAdd(1, ordering: .relaxed).newValue)
        defer { clients.record(Self.openStreams.wrappingSubtract(1, ordering: .relaxed).newValue) }
        // Messages are written from the connection's event loop (`ChannelDrain`), not by a task.
        let drain = ChannelDrain(channel: channel, batched: batched)
        let queue = OutboundQueue(
            capacity: configuration.maxQueuedMessages, maxAge: configuration.maxQueuedAge,
            action: configuration.slowConsumerAction, drainTarget: drain)
        try await drain.install(draining: queue)
        let session = StreamSession(
            log: log, fanout: fanout, principal: principal, queue: queue, configuration: configuration)
        defer { session.stop() }
        // On shutdown the queue closes, the writer ends and the connection closes with it.
        try await withGracefulShutdownHandler {
            try await serve(
                session: session, queue: queue, inbound: inbound, outbound: outbound, headers: headers)
        } onGracefulShutdown: {
            queue.close()
        }
    }

    private func serve(
        session: StreamSession, queue: OutboundQueue, inbound: WebSocketInboundStream,
        outbound: WebSocketOutboundWriter,
        headers: HTTPFields
    ) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                // Everything the client gets goes through the queue, in order, written by the
                // drain on the event loop; this task only ends the connection when the queue ends.
                if case .overflowed = await queue.ended() {
                    try await outbound.close(
                        .unknown(1013), reason: "slow consumer: reconnect and resume from your last cursor")
                }
            }
            group.addTask {
                while !Task.isCancelled {
                    try await Task.sleep(for: configuration.heartbeatInterval)
                    // A revoked key's streams end within a heartbeat interval.
                    guard gatekeeper.isValid(headers) else {
                        queue.discard()  // no data frame after the close frame
                        try await outbound.close(.unknown(4401), reason: "the API key was revoked")
                        return
                    }
                    queue.pushHeartbeat()
                }
            }
            group.addTask {
                do {
                    for try await message in inbound.messages(maxSize: configuration.maxMessageBytes) {
                        guard case .text(let text) = message else {
                            queue.pushControl(
                                StreamMessages.error(GatewayError(.badRequest, .invalidJSON, "send JSON text messages"))
                            )
                            continue
                        }
                        await session.handle(Array(text.utf8))
                    }
                } catch {
                    // Too large or malformed frames: the WebSocket layer closes the connection.
                }
                queue.discard()  // the client closed, or is being closed: nothing more is written
            }
            _ = try await group.next()
            group.cancelAll()
        }
    }

    /// The first `"name":"…"` string in a stream message, found without parsing it: the messages
    /// are ours, and their `type` and `cursor` come before any payload. (A quote inside a JSON
    /// string is escaped, so the pattern cannot match inside one.) Values here need no unescaping.
    static func stringField(_ name: String, in message: [UInt8]) -> String? {
        let pattern = Array("\"\(name)\":\"".utf8)
        guard let start = message.firstRange(of: pattern)?.upperBound,
            let end = message[start...].firstIndex(of: UInt8(ascii: "\""))
        else { return nil }
        return String(decoding: message[start..<end], as: UTF8.self)
    }

    /// Open WebSocket connections in this process, for the clients gauge.
    static let openStreams = Atomic<Int>(0)

    /// `GET /v1/stream/sse?stream=…&filter=…&from=…`: one subscription as Server-Sent Events;
    /// each event's id is its cursor, so `Last-Event-ID` resumes after it.
    func register(sse router: Router<BasicRequestContext>, table: RouteTable) {
        table.add(router, .get, "/v1/stream/sse") { request, _ in
            let principal = try gatekeeper.authorizeStream(request.headers)
            var fields: [String: Any] = [:]
            for (name, value) in request.uri.queryParameters {
                fields[String(name)] = String(value)
            }
            if let lastEventID = request.headers[HTTPField.Name("Last-Event-ID")!] { fields["from"] = lastEventID }
            let subscription = try StreamSubscription(id: "sse", fields: fields)
            guard principal.has(subscription.stream.scope) else {
                throw GatewayError(
                    .forbidden, .forbidden,
                    "key \(principal.id) lacks the scope '\(subscription.stream.scope.rawValue)'")
            }
            let cursor = try await fanout.startCursor(subscription.start, stream: subscription.stream)
            let release = try gatekeeper.openConnection(for: principal)
            let queue = OutboundQueue(
                capacity: configuration.maxQueuedMessages, maxAge: configuration.maxQueuedAge,
                action: configuration.slowConsumerAction)
            let subscriber = Subscriber(subscription: subscription, queue: queue, from: cursor)
            return Response(
                status: .ok,
                headers: [.contentType: "text/event-stream", .cacheControl: "no-store"],
                body: ResponseBody { writer in
                    defer { release() }
                    // A client that went away is noticed at the next write (at most a heartbeat
                    // later); shutdown does not wait for that.
                    try await withGracefulShutdownHandler {
                        try await withThrowingTaskGroup(of: Void.self) { group in
                            group.addTask { try await fanout.serve(subscriber) }
                            group.addTask {
                                while !Task.isCancelled {
                                    try await Task.sleep(for: configuration.heartbeatInterval)
                                    guard gatekeeper.isValid(request.headers) else {
                                        queue.close()  // a revoked key's stream ends
                                        return
                                    }
                                    queue.pushHeartbeat()
                                }
                            }
                            try await writer.write(
                                ByteBuffer(string: "event: subscribed\ndata: {\"cursor\":\"\(cursor.text)\"}\n\n"))
                            loop: while true {
                                switch await queue.next(limit: 256) {
                                case .messages(let batch):
                                    var buffer = ByteBuffer()
                                    for message in batch { Self.appendSSE(message, to: &buffer) }
                                    try await writer.write(buffer)
                                case .overflowed, .closed:
                                    break loop
                                }
                            }
                            group.cancelAll()
                        }
                    } onGracefulShutdown: {
                        queue.close()
                    }
                    try await writer.finish(nil)
                })
        }
    }

    /// One stream message as an SSE event: `id` is the cursor (when it has one), `event` its type.
    static func appendSSE(_ message: [UInt8], to buffer: inout ByteBuffer) {
        let type = stringField("type", in: message) ?? "message"
        if type == "event" || type == "result", let cursor = stringField("cursor", in: message) {
            buffer.writeString("id: \(cursor)\n")
        }
        buffer.writeString("event: \(type)\ndata: ")
        buffer.writeBytes(message)
        buffer.writeString("\n\n")
    }
}
