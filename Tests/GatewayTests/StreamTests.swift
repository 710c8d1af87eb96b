import AsyncHTTPClient
import EventLog
import Foundation
import HTTPTypes
import Logging
import NIOCore
import NIOPosix
import Synchronization
import Testing
import TributaryModel
import WSClient

@testable import Gateway

/// `/v1/stream` with a real WebSocket client and `/v1/stream/sse` with a real HTTP client.
@Suite struct StreamTests {
    static func events(in messages: [[String: Any]], subscription: String = "s") -> [[String: Any]] {
        messages.filter { $0["type"] as? String == "event" && $0["subscription"] as? String == subscription }
    }

    static func blockNumbers(_ messages: [[String: Any]]) -> [Int] {
        messages.compactMap { message in
            ((message["event"] as? [String: Any])?["blockNumber"] as? String).flatMap { Int($0) }
        }
    }

    @Test func upgradesAreRefusedForBadOriginsKeysAndProtocols() async throws {
        let gateway = try await GatewayHarness.start()
        defer { Task { await gateway.stop() } }
        let reader = try await gateway.createKey(["events:read"])
        let writer = try await gateway.createKey(["functions:write"])
        await #expect(throws: (any Error).self) {
            try await StreamClient.connect(port: gateway.port, key: reader, origin: "https://evil.example")
        }
        await #expect(throws: (any Error).self) { try await StreamClient.connect(port: gateway.port, key: nil) }
        await #expect(throws: (any Error).self) { try await StreamClient.connect(port: gateway.port, key: "trb_wrong") }
        await #expect(throws: (any Error).self) { try await StreamClient.connect(port: gateway.port, key: writer) }
        // Browsers: the key as a subprotocol next to tributary.v1, from an allowed origin.
        let browser = try await StreamClient.connect(
            port: gateway.port, key: nil, origin: "https://app.example",
            protocols: ["tributary.v1", "tributary.key.\(reader)"])
        try browser.send(["op": "ping"])
        #expect(
            await browser.waitFor { $0.contains { $0["type"] as? String == "pong" } }.contains {
                $0["type"] as? String == "pong"
            })
        browser.close()
        await #expect(throws: (any Error).self) {
            try await StreamClient.connect(port: gateway.port, key: nil, protocols: ["tributary.key.\(reader)"])
        }
    }

    @Test func subscriptionsFilterAndResumeFromACursorWithoutLoss() async throws {
        let gateway = try await GatewayHarness.start()
        defer { Task { await gateway.stop() } }
        let key = try await gateway.createKey(["events:read"])
        let target = "0x00000000000000000000000000000000000000bb"
        try await gateway.appendEvents(
            (1...60).map {
                GatewayHarness.event($0, address: $0 % 2 == 0 ? target : "0x00000000000000000000000000000000000000aa")
            })

        let first = try await StreamClient.connect(port: gateway.port, key: key)
        try first.send([
            "op": "subscribe", "id": "s", "stream": "events", "from": "earliest", "filter": "address == \"\(target)\"",
        ])
        let seen = await first.waitFor { Self.events(in: $0).count >= 10 }
        #expect(seen.first?["type"] as? String == "subscribed")
        let delivered = Self.events(in: seen)
        #expect(delivered.allSatisfy { ($0["event"] as? [String: Any])?["address"] as? String == target })
        first.close()

        // Reconnect from the cursor of the 10th event: exactly the rest, nothing twice.
        let cursor = try #require(delivered[9]["cursor"] as? String)
        let before = Set(Self.blockNumbers(Array(delivered.prefix(10))))
        try await gateway.appendEvents((61...80).map { GatewayHarness.event($0, address: target) })
        let second = try await StreamClient.connect(port: gateway.port, key: key)
        try second.send([
            "op": "subscribe", "id": "s", "stream": "events", "from": cursor, "filter": "address == \"\(target)\"",
        ])
        let rest = Self.blockNumbers(Self.events(in: await second.waitFor { Self.events(in: $0).count >= 40 }))
        let expected = Set((1...60).filter { $0 % 2 == 0 }).union(61...80)
        #expect(before.union(rest) == expected)
        #expect(before.isDisjoint(with: rest) && Set(rest).count == rest.count)
        second.close()
    }

    /// Catch-up readers hand over to the shared tail while records keep arriving: every record
    /// exactly once, in order per partition.
    @Test func catchingUpWhileTheTopicGrowsLosesAndRepeatsNothing() async throws {
        let gateway = try await GatewayHarness.start()
        defer { Task { await gateway.stop() } }
        let key = try await gateway.createKey(["events:read"])
        try await gateway.appendEvents((1...300).map { GatewayHarness.event($0) })
        let producer = Task {
            for batch in 0..<30 {
                try await gateway.appendEvents((0..<10).map { GatewayHarness.event(301 + batch * 10 + $0) })
                try await Task.sleep(for: .milliseconds(5))
            }
        }
        var clients: [StreamClient] = []
        for index in 0..<4 {
            let client = try await StreamClient.connect(port: gateway.port, key: key)
            try client.send(["op": "subscribe", "id": "s", "stream": "events", "from": "earliest"])
            clients.append(client)
            try await Task.sleep(for: .milliseconds(20 * index))
        }
        try await producer.value
        for client in clients {
            let numbers = Self.blockNumbers(Self.events(in: await client.waitFor { Self.events(in: $0).count >= 600 }))
            #expect(numbers.count == 600 && Set(numbers) == Set(1...600), "\(numbers.count) delivered")
            var lastPerPartition: [String: Int] = [:]
            for message in Self.events(in: client.messages) {
                // Within a partition the cursor's offsets only grow.
                let cursor = StreamCursor(message["cursor"] as? String ?? "")
                let text = cursor?.text ?? ""
                #expect(lastPerPartition[text] == nil)
                lastPerPartition[text] = 1
            }
            client.close()
        }
    }

    @Test func liveEventsArriveAndProtocolErrorsAreAnswered() async throws {
        let gateway = try await GatewayHarness.start()
        defer { Task { await gateway.stop() } }
        let key = try await gateway.createKey(["events:read"])
        let client = try await StreamClient.connect(port: gateway.port, key: key)
        try client.send([
            "op": "subscribe", "id": "live", "stream": "events", "finality": "pending", "chains": ["eip155:1"],
        ])
        await client.waitFor { $0.contains { $0["type"] as? String == "subscribed" } }
        try await gateway.appendEvents((1...5).map { GatewayHarness.event($0) })
        let live = await client.waitFor { Self.events(in: $0, subscription: "live").count >= 5 }
        #expect(Set(Self.blockNumbers(Self.events(in: live, subscription: "live"))) == Set(1...5))

        client.sendText("{not json")
        try client.send(["op": "launch"])
        try client.send(["op": "subscribe", "id": "bad", "stream": "events", "filter": "block.number >"])
        try client.send(["op": "subscribe", "id": "r", "stream": "results"])  // the key lacks results:read
        try client.send(["op": "unsubscribe", "id": "missing"])
        let errors = await client.waitFor { $0.filter { $0["type"] as? String == "error" }.count >= 5 }.filter {
            $0["type"] as? String == "error"
        }
        #expect(
            errors.map { $0["code"] as? String } == [
                "invalid_json", "bad_request", "bad_request", "forbidden", "not_found",
            ])
        #expect((errors[1]["message"] as? String)?.contains("'launch' is not an operation") == true)
        // Heartbeats keep idle connections alive (1 s in this harness).
        #expect(
            await client.waitFor { $0.contains { $0["type"] as? String == "heartbeat" } }.contains {
                $0["type"] as? String == "heartbeat"
            })
        try client.send(["op": "unsubscribe", "id": "live"])
        #expect(
            await client.waitFor { $0.contains { $0["type"] as? String == "unsubscribed" } }.contains {
                $0["type"] as? String == "unsubscribed"
            })
        client.close()
    }

    @Test func batchedFramesCarrySeveralMessagesOnePerLine() async throws {
        let gateway = try await GatewayHarness.start()
        defer { Task { await gateway.stop() } }
        let key = try await gateway.createKey(["events:read"])
        try await gateway.appendEvents((1...200).map { GatewayHarness.event($0) })
        let client = try await StreamClient.connect(port: gateway.port, key: key, query: "?frames=batched")
        try client.send(["op": "subscribe", "id": "s", "stream": "events", "from": "earliest"])
        let messages = await client.waitFor { Self.events(in: $0).count >= 200 }
        #expect(Set(Self.blockNumbers(Self.events(in: messages))) == Set(1...200))
        #expect(client.frames < messages.count, "\(client.frames) frames for \(messages.count) messages")
        client.close()
    }

    /// Messages of every frame-length class (RFC 6455: 7-bit, 16-bit and 64-bit lengths) reach
    /// a real client whole, both as the live tail's frames (encoded once for both clients) and
    /// as a replay's own, one per frame and batched.
    @Test func framesOfEveryLengthArriveWhole() async throws {
        let gateway = try await GatewayHarness.start()
        defer { Task { await gateway.stop() } }
        let key = try await gateway.createKey(["events:read"])
        let huge = "0x" + String(repeating: "ab", count: 40_000)  // one message over 65,535 bytes
        var live: [StreamClient] = []
        for query in ["", "?frames=batched"] {
            let client = try await StreamClient.connect(port: gateway.port, key: key, query: query)
            try client.send(["op": "subscribe", "id": "s", "stream": "events", "from": "latest"])
            _ = await client.waitFor { $0.contains { $0["type"] as? String == "subscribed" } }
            live.append(client)
        }
        try await gateway.appendEvents([GatewayHarness.event(1)])
        for client in live { _ = await client.waitFor { Self.events(in: $0).count >= 1 } }
        try await gateway.appendEvents([GatewayHarness.event(2, address: huge), GatewayHarness.event(3)])
        let replay = try await StreamClient.connect(port: gateway.port, key: key)
        try replay.send(["op": "subscribe", "id": "s", "stream": "events", "from": "earliest"])
        for client in live + [replay] {
            let events = Self.events(in: await client.waitFor { Self.events(in: $0).count >= 3 })
            #expect(Self.blockNumbers(events).sorted() == [1, 2, 3])
            let second = events.compactMap { $0["event"] as? [String: Any] }.first { $0["blockNumber"] as? String == "2" }
            let whole = second?["address"] as? String == huge
            #expect(whole, "block 2's 80 KB address arrived whole")
            client.close()
        }
    }

    /// A client replaying history is paced to its reading speed: no slow-consumer action applies.
    @Test func aReplayIsPacedNotClosed() async throws {
        let gateway = try await GatewayHarness.start {
            $0.maxQueuedMessages = 100
            $0.maxQueuedAge = .milliseconds(50)
            $0.slowConsumerAction = .close
        }
        defer { Task { await gateway.stop() } }
        let key = try await gateway.createKey(["events:read"])
        try await gateway.appendEvents((1...3_000).map { GatewayHarness.event($0) })
        let replaying = try await StreamClient.connect(port: gateway.port, key: key)
        try replaying.send(["op": "subscribe", "id": "s", "stream": "events", "from": "earliest"])
        // Frames first (cheap to count), then the events themselves: heartbeats (1 s here) are
        // frames too, and a replay slowed by a loaded machine sees some of them.
        await replaying.waitForFrames(3_001, timeout: .seconds(60))
        let messages = await replaying.waitFor({ Self.events(in: $0).count >= 3_000 }, timeout: .seconds(30))
        #expect(Self.events(in: messages).count == 3_000)
        replaying.close()
    }

    /// Unsubscribing a replay that waits for room ends that subscription only; nothing of it
    /// follows `unsubscribed` and the connection serves on.
    @Test func unsubscribingAReplayKeepsTheConnection() async throws {
        let gateway = try await GatewayHarness.start { $0.maxQueuedMessages = 20 }
        defer { Task { await gateway.stop() } }
        let key = try await gateway.createKey(["events:read"])
        try await gateway.appendEvents((1...3_000).map { GatewayHarness.event($0) })
        let client = try await StreamClient.connect(port: gateway.port, key: key)
        try client.send(["op": "subscribe", "id": "a", "stream": "events", "from": "earliest"])
        await client.waitFor { Self.events(in: $0, subscription: "a").count >= 10 }
        try client.send(["op": "unsubscribe", "id": "a"])
        try client.send(["op": "ping"])
        let messages = await client.waitFor { $0.contains { $0["type"] as? String == "pong" } }
        let unsubscribed = try #require(
            messages.firstIndex { $0["type"] as? String == "unsubscribed" },
            "\(messages.count) messages, types \(Set(messages.compactMap { $0["type"] as? String })), last \(String(describing: messages.last))"
        )
        #expect(!messages[unsubscribed...].contains { $0["type"] as? String == "event" })
        #expect(messages.contains { $0["type"] as? String == "pong" })
        // The id is free again.
        try client.send(["op": "subscribe", "id": "a", "stream": "events", "from": "latest"])
        #expect(
            await client.waitFor { $0.filter { $0["type"] as? String == "subscribed" }.count == 2 }.filter {
                $0["type"] as? String == "subscribed"
            }.count == 2)
        client.close()
    }

    /// A live client that stops reading is closed with 1013 once its queue passes the limit (the
    /// shared tail never waits for it).
    @Test func aStalledLiveClientIsClosedWith1013() async throws {
        let gateway = try await GatewayHarness.start {
            $0.maxQueuedMessages = 200
            $0.maxQueuedAge = .seconds(60)
            $0.slowConsumerAction = .close
        }
        defer { Task { await gateway.stop() } }
        let key = try await gateway.createKey(["events:read"])
        var headers = HTTPFields()
        headers[.authorization] = "Bearer \(key)"
        let (resume, resumeContinuation) = AsyncStream<Void>.makeStream()
        let (subscribed, subscribedContinuation) = AsyncStream<Void>.makeStream()
        let stalled = Task {
            try await WebSocketClient.connect(
                url: "ws://127.0.0.1:\(gateway.port)/v1/stream",
                configuration: .init(maxFrameSize: 1 << 20, additionalHeaders: headers),
                logger: Logger(label: "stalled")
            ) { inbound, outbound, _ in
                try await outbound.write(.text(#"{"op":"subscribe","id":"s","stream":"events","from":"latest"}"#))
                var frames = inbound.makeAsyncIterator()
                _ = try await frames.next()  // subscribed
                subscribedContinuation.yield()
                for await _ in resume { break }  // reads nothing until told
                while try await frames.next() != nil {}
            }
        }
        for await _ in subscribed { break }
        // About 20 MB live, more than the socket buffers between the client and the server hold.
        let data = "0x" + String(repeating: "ab", count: 2_000)
        for batch in 0..<100 {
            try await gateway.appendEvents(
                (1...50).map {
                    var event = GatewayHarness.event(batch * 50 + $0)
                    event.data = data
                    return event
                })
        }
        resumeContinuation.yield()
        // Bounded, so a connection left open fails the test instead of hanging it.
        let watchdog = Task {
            try await Task.sleep(for: .seconds(60))
            stalled.cancel()
        }
        let close = try? await stalled.value
        watchdog.cancel()
        #expect(close?.closeCode == .unknown(1013), "\(String(describing: close))")
        #expect(close?.reason?.contains("slow consumer") == true)
    }

    @Test func revokingAKeyEndsItsOpenStreams() async throws {
        let gateway = try await GatewayHarness.start()  // heartbeats every second
        defer { Task { await gateway.stop() } }
        let key = try await gateway.createKey(["events:read"])
        let client = try await StreamClient.connect(port: gateway.port, key: key)
        try client.send(["op": "ping"])
        await client.waitFor { $0.contains { $0["type"] as? String == "pong" } }
        let keys = try await gateway.request(.GET, "/v1/keys").json["keys"] as? [[String: Any]] ?? []
        let id = try #require(keys.first?["id"] as? String)
        #expect(try await gateway.request(.DELETE, "/v1/keys/\(id)").status == 200)
        let close = try await client.closed()
        #expect(close?.closeCode == .unknown(4401))
    }

    @Test func oversizedMessagesCloseTheConnection() async throws {
        let gateway = try await GatewayHarness.start { $0.maxMessageBytes = 1_024 }
        defer { Task { await gateway.stop() } }
        let key = try await gateway.createKey(["events:read"])
        let client = try await StreamClient.connect(port: gateway.port, key: key)
        client.sendText("{\"op\":\"ping\",\"pad\":\"" + String(repeating: "x", count: 4_096) + "\"}")
        let close = try await client.closed()
        #expect(close?.closeCode == .messageTooLarge || close != nil)
    }

    @Test func serverSentEventsCarryCursorsAsEventIDs() async throws {
        let gateway = try await GatewayHarness.start()
        defer { Task { await gateway.stop() } }
        let key = try await gateway.createKey(["events:read"])
        try await gateway.appendEvents((1...3).map { GatewayHarness.event($0) })
        var request = HTTPClientRequest(url: gateway.base + "/v1/stream/sse?stream=events&from=earliest")
        request.headers.add(name: "Authorization", value: "Bearer \(key)")
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
        #expect(response.status.code == 200 && response.headers["Content-Type"].first == "text/event-stream")
        var text = ""
        for try await chunk in response.body {
            text += String(buffer: chunk)
            if text.components(separatedBy: "event: event\n").count > 3 { break }
        }
        #expect(text.hasPrefix("event: subscribed\n"))
        let ids = text.split(separator: "\n").filter { $0.hasPrefix("id: ") }
        #expect(ids.count == 3 && ids.allSatisfy { StreamCursor(String($0.dropFirst(4))) != nil })
        let unauthorized = try await gateway.request(.GET, "/v1/stream/sse?stream=events", key: nil)
        #expect(unauthorized.status == 401)
        let badFilter = try await gateway.request(
            .GET, "/v1/stream/sse?stream=events&filter=block.number%20%3E", key: key)
        #expect(badFilter.status == 400)
    }
}

/// The slow-consumer policies, on the queue itself.
@Suite struct OutboundQueueTests {
    @Test func dropOldestKeepsTheNewestAndTellsTheClient() async {
        let queue = OutboundQueue(capacity: 3, maxAge: .seconds(60), action: .dropOldest)
        for index in 0..<5 {
            queue.push(QueuedMessage(bytes: Array("m\(index)".utf8), subscription: "s", cursorBefore: "0-\(index)"))
        }
        guard case .messages(let batch) = await queue.next(limit: 10) else {
            Issue.record("expected messages")
            return
        }
        let texts = batch.map { String(decoding: $0, as: UTF8.self) }
        #expect(texts.first?.contains("\"type\":\"dropped\"") == true && texts.first?.contains("\"count\":2") == true)
        #expect(texts.first?.contains("\"cursor\":\"0-0\"") == true, "\(texts)")
        #expect(Array(texts.dropFirst()) == ["m2", "m3", "m4"])
    }

    /// A drain that never writes, as for a client whose socket stays full: the queue's end must
    /// still be known without it.
    final class StalledDrain: DrainTarget {
        let eventLoop: any EventLoop = MultiThreadedEventLoopGroup.singleton.next()
        func run(_ queue: OutboundQueue) {}
    }

    @Test(.timeLimit(.minutes(1))) func theEndIsKnownWithoutTheDrain() async throws {
        let queue = OutboundQueue(capacity: 2, maxAge: .seconds(60), action: .close, drainTarget: StalledDrain())
        // Waiting already when the client overflows (the usual order: the wait starts with the
        // connection); the pause only makes that order likely, the outcome is the same either way.
        async let end = queue.ended()  // structured: a time-limit cancellation ends it
        try await Task.sleep(for: .milliseconds(100))
        #expect(
            queue.push(QueuedMessage(bytes: [1], subscription: "s", cursorBefore: ""))
                && queue.push(QueuedMessage(bytes: [2], subscription: "s", cursorBefore: ""))
        )
        #expect(!queue.push(QueuedMessage(bytes: [3], subscription: "s", cursorBefore: "")))
        guard case .overflowed = await end else {
            Issue.record("expected the overflow to end the queue")
            return
        }
        // A wait cancelled before (or while) it begins ends too.
        let open = OutboundQueue(capacity: 10, maxAge: .seconds(60), action: .close, drainTarget: StalledDrain())
        let waiting = Task { await open.ended() }
        waiting.cancel()
        guard case .closed = await waiting.value else {
            Issue.record("expected a cancelled wait to end as closed")
            return
        }
    }

    @Test func closeEndsTheStreamWhenTheClientLagsByCountOrAge() async throws {
        let byCount = OutboundQueue(capacity: 2, maxAge: .seconds(60), action: .close)
        #expect(
            byCount.push(QueuedMessage(bytes: [1], subscription: "s", cursorBefore: ""))
                && byCount.push(QueuedMessage(bytes: [2], subscription: "s", cursorBefore: "")))
        #expect(!byCount.push(QueuedMessage(bytes: [3], subscription: "s", cursorBefore: "")))
        guard case .overflowed = await byCount.next(limit: 10) else {
            Issue.record("expected overflow")
            return
        }
        let byAge = OutboundQueue(capacity: 100, maxAge: .milliseconds(50), action: .close)
        #expect(byAge.push(QueuedMessage(bytes: [1], subscription: "s", cursorBefore: "")))
        try await Task.sleep(for: .milliseconds(120))
        #expect(byAge.pushControl([9]), "control messages never trip the limits")
        #expect(!byAge.push(QueuedMessage(bytes: [2], subscription: "s", cursorBefore: "")))
    }
}

/// The shared tail's messages: subscribers with the same id at the same position get one
/// message per item (the same bytes, not copies); any other id or position gets its own.
@Suite struct DeliveryRoundTests {
    static func item(partition: Int, offset: Int64, block: UInt64) throws -> StreamItem {
        var event = Tributary_V1_CanonicalEvent()
        event.id = "eip155:1:0x\(String(format: "%064x", block)):0"
        event.chainID = "eip155:1"
        event.blockNumber = block
        let record = LogRecord(
            topic: "canonical-events", partition: partition, offset: offset, key: Array(event.id.utf8),
            value: try RecordEncoding.json.encode(event),
            headers: [RecordHeader(name: RecordEncoding.headerName, text: RecordEncoding.json.contentType)],
            timestampMilliseconds: 0)
        return StreamItem(record, stream: .events)
    }

    static func subscriber(_ id: String, offsets: [Int: Int64]) throws -> (Subscriber, OutboundQueue) {
        let queue = OutboundQueue(capacity: 100, maxAge: .seconds(60), action: .close)
        let subscription = try StreamSubscription(id: id, fields: ["stream": "events"])
        return (Subscriber(subscription: subscription, queue: queue, from: StreamCursor(offsets: offsets)), queue)
    }

    static func messages(_ queue: OutboundQueue) async -> [[UInt8]] {
        guard case .messages(let batch) = await queue.next(limit: 100) else { return [] }
        return batch
    }

    @Test func sameIdAndPositionShareOneMessageEveryoneElseGetsTheirOwn() async throws {
        let items = [
            try Self.item(partition: 0, offset: 5, block: 10), try Self.item(partition: 1, offset: 7, block: 11),
        ]
        let start: [Int: Int64] = [0: 5, 1: 7]
        let (first, firstQueue) = try Self.subscriber("s", offsets: start)
        let (second, secondQueue) = try Self.subscriber("s", offsets: start)
        let (other, otherQueue) = try Self.subscriber("other", offsets: start)
        // Already past the first item: gets only the second, with its own cursor.
        let (ahead, aheadQueue) = try Self.subscriber("s", offsets: [0: 6, 1: 7])
        // Knows a third partition: the same id, but its cursors are its own.
        let (wider, widerQueue) = try Self.subscriber("s", offsets: [0: 5, 1: 7, 2: 3])
        let round = DeliveryRound(items: items.count)
        for subscriber in [first, second, other, ahead, wider] {
            #expect(subscriber.deliver(items, in: round))
        }

        let firstMessages = await Self.messages(firstQueue)
        let secondMessages = await Self.messages(secondQueue)
        let otherMessages = await Self.messages(otherQueue)
        let aheadMessages = await Self.messages(aheadQueue)
        #expect(firstMessages.count == 2 && secondMessages == firstMessages)
        for (mine, theirs) in zip(firstMessages, secondMessages) {
            let sameStorage = mine.withUnsafeBufferPointer { a in
                theirs.withUnsafeBufferPointer { $0.baseAddress == a.baseAddress }
            }
            #expect(sameStorage, "one message per item, queued by reference")
        }
        let texts = firstMessages.map { String(decoding: $0, as: UTF8.self) }
        #expect(texts[0].contains(#""subscription":"s","cursor":"0-6.1-7""#), "\(texts[0])")
        #expect(texts[1].contains(#""subscription":"s","cursor":"0-6.1-8""#), "\(texts[1])")
        let otherTexts = otherMessages.map { String(decoding: $0, as: UTF8.self) }
        #expect(otherTexts.count == 2 && otherTexts.allSatisfy { $0.contains(#""subscription":"other""#) })
        #expect(aheadMessages.map { String(decoding: $0, as: UTF8.self) } == [texts[1]])
        let widerTexts = await Self.messages(widerQueue).map { String(decoding: $0, as: UTF8.self) }
        #expect(widerTexts.count == 2)
        #expect(widerTexts.first?.contains(#""cursor":"0-6.1-7.2-3""#) == true, "\(widerTexts)")
        #expect(widerTexts.last?.contains(#""cursor":"0-6.1-8.2-3""#) == true, "\(widerTexts)")
        // Each subscriber resumes where its last message says.
        for subscriber in [first, second, other, ahead] { #expect(subscriber.cursor.offsets == [0: 6, 1: 8]) }
    }

    /// A shared message dropped for a slow client carries the cursor just before its item: the
    /// drop notice sends the client back to the first message it missed.
    @Test func aDroppedSharedMessageSendsTheClientBackToItsItem() async throws {
        let items = [
            try Self.item(partition: 0, offset: 5, block: 10), try Self.item(partition: 1, offset: 7, block: 11),
            try Self.item(partition: 0, offset: 6, block: 12),
        ]
        let start: [Int: Int64] = [0: 5, 1: 7]
        let (peer, _) = try Self.subscriber("s", offsets: start)
        let slowQueue = OutboundQueue(capacity: 1, maxAge: .seconds(60), action: .dropOldest)
        let slow = Subscriber(
            subscription: try StreamSubscription(id: "s", fields: ["stream": "events"]), queue: slowQueue,
            from: StreamCursor(offsets: start))
        let round = DeliveryRound(items: items.count)
        // The peer makes each message; the slow subscriber takes the shared ones.
        #expect(peer.deliver(items, in: round) && slow.deliver(items, in: round))
        let texts = await Self.messages(slowQueue).map { String(decoding: $0, as: UTF8.self) }
        #expect(texts.count == 2, "\(texts)")
        #expect(texts.first?.contains(#""type":"dropped""#) == true && texts.first?.contains(#""count":2"#) == true)
        #expect(texts.first?.contains(#""cursor":"0-5.1-7""#) == true, "\(texts)")
        #expect(texts.last?.contains(#""cursor":"0-7.1-8""#) == true, "\(texts)")
    }
}

/// A loop's feed of the shared tail: every subscriber there gets every item from where it joined,
/// once and in order, including a round that arrives in the middle of a pass.
@Suite struct LoopFeedTests {
    /// Writes what its queue drains into a list, on its loop (a connection that always takes
    /// more); runs `beforeNextRun` once, on the loop, the next time it drains.
    final class RecordingDrain: DrainTarget {
        let eventLoop: any EventLoop
        let written = Mutex<[[UInt8]]>([])
        let beforeNextRun = Mutex<(@Sendable () -> Void)?>(nil)

        init(eventLoop: any EventLoop) { self.eventLoop = eventLoop }

        func run(_ queue: OutboundQueue) {
            eventLoop.assertInEventLoop()
            beforeNextRun.withLock { $0.take() }?()
            queue.drain(limit: 64, canWrite: { true }) { messages in
                written.withLock { $0.append(contentsOf: messages.map(\.bytes)) }
            }
        }

        /// The offsets (partition 0) of the items written, from their cursors.
        var offsets: [Int64] {
            written.withLock { $0 }.compactMap { bytes -> Int64? in
                let text = String(decoding: bytes, as: UTF8.self)
                guard let range = text.range(of: #""cursor":"0-"#) else { return nil }
                return Int64(text[range.upperBound...].prefix { $0.isNumber }).map { $0 - 1 }
            }
        }
    }

    struct Member {
        let subscriber: Subscriber
        let drain: RecordingDrain
        let queue: OutboundQueue
        let from: Int64
    }

    static func item(_ offset: Int64) throws -> StreamItem {
        try DeliveryRoundTests.item(partition: 0, offset: offset, block: UInt64(offset))
    }

    /// Waits until every member has had every item before `end` (a lost item would wait forever:
    /// a deadline reports it instead), then checks each got exactly those, once, in order.
    static func expectEverything(_ members: [Member], before end: Int64, extra: () -> Bool = { true }) async throws {
        let deadline = ContinuousClock.now + .seconds(20)
        while members.contains(where: { $0.drain.offsets.count < Int(end - $0.from) }) || !extra(),
            ContinuousClock.now < deadline
        {
            try await Task.sleep(for: .milliseconds(10))
        }
        for member in members {
            #expect(member.drain.offsets == Array(member.from..<end))
        }
    }

    @Test func everySubscriberGetsEachItemFromItsJoinOnceAndInOrder() async throws {
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        let closedSubscribers = Mutex<[ObjectIdentifier]>([])
        // Passes in turns of 4 subscribers: the list is served over several of the loop's tasks.
        let feed = LoopFeed(loop: loop, subscribersPerTurn: 4) { subscriber in
            closedSubscribers.withLock { $0.append(ObjectIdentifier(subscriber)) }
        }
        var members: [Member] = []
        func join(from offset: Int64, id: String) throws {
            let drain = RecordingDrain(eventLoop: loop)
            let queue = OutboundQueue(capacity: 100_000, maxAge: .seconds(600), action: .close, drainTarget: drain)
            let subscriber = Subscriber(
                subscription: try StreamSubscription(id: id, fields: ["stream": "events"]), queue: queue,
                from: StreamCursor(offsets: [0: offset]))
            feed.add(subscriber)
            members.append(Member(subscriber: subscriber, drain: drain, queue: queue, from: offset))
        }
        for index in 0..<20 { try join(from: 0, id: index % 2 == 0 ? "s" : "t") }
        var offset: Int64 = 0
        for round in 0..<300 {
            // Joiners arrive between rounds, as the broadcaster adds them: at the tail's position.
            if round % 30 == 15 { try join(from: offset, id: "s") }
            var items: [StreamItem] = []
            for _ in 0..<4 {
                items.append(try Self.item(offset))
                offset += 1
            }
            feed.append(items)
            if round % 50 == 0 { try await Task.sleep(for: .milliseconds(2)) }  // passes end in between too
        }
        try await Self.expectEverything(members, before: offset)
        // Each entry was given to each subscriber once (a repeat would be skipped by the
        // subscriber's position, so it shows only here).
        let given = members.reduce(0) { $0 + Int(offset - $1.from) }
        #expect(feed.given.load(ordering: .relaxed) == given)

        // A round that arrives while a pass is in the middle of the list (from the eleventh
        // member's drain): the members after it get it in that pass, the ones before in the next.
        let last = try Self.item(offset + 1)
        members[10].drain.beforeNextRun.withLock { $0 = { feed.append([last]) } }
        feed.append([try Self.item(offset)])
        offset += 2
        try await Self.expectEverything(members, before: offset)
        #expect(feed.given.load(ordering: .relaxed) == given + 2 * members.count)

        // One subscriber's connection goes away: the feed reports it instead of queuing more.
        let leaving = members.removeLast()
        leaving.queue.close()
        feed.append([try Self.item(offset)])
        offset += 1
        try await Self.expectEverything(members, before: offset) { !closedSubscribers.withLock { $0.isEmpty } }
        #expect(closedSubscribers.withLock { $0 } == [ObjectIdentifier(leaving.subscriber)])
        #expect(members.count == 29)
    }
}
