import Foundation
import NIOCore
import NIOPosix
import Synchronization

/// The load client of the fan-out benchmark (`tributary-bench gateway-load`): connects the
/// clients, subscribes each to events, prints READY, measures a window after a 3 s warm-up and
/// prints one RESULT line (including its own CPU use).
///
/// It shares the server's two cores, so it does as little as a client can: two event-loop
/// threads (the scheduler shares the cores per thread, and the server has four busy ones), the
/// WebSocket upgrade and frames handled on raw bytes (no per-frame task, no frame assembly when a
/// frame arrives whole), and each message's send time found with `memchr`. A full client library
/// (WSClient, one task per connection) used 40–45% of the machine at 250,000 messages/s, taking
/// that CPU from the server it measured.
enum GatewayLoadClient {
    final class Stats: Sendable {
        /// Latency buckets: 0.1 ms wide up to 1 s, then 10 ms wide up to 60 s.
        private let state = Mutex<(buckets: [Int], delivered: Int)>((Array(repeating: 0, count: 10_000 + 5_900), 0))
        let subscribed = Atomic(0)
        let closed = Atomic(0)
        let connected = Atomic(0)

        /// Records the latency of every message of one read under one lock.
        func record(sentNanoseconds: [Int64], receivedNanoseconds: Int64) {
            guard !sentNanoseconds.isEmpty else { return }
            state.withLock { state in
                for sent in sentNanoseconds {
                    let milliseconds = Double(max(0, receivedNanoseconds - sent)) / 1e6
                    let bucket =
                        milliseconds < 1_000
                        ? Int(milliseconds * 10) : min(15_899, 10_000 + Int((milliseconds - 1_000) / 10))
                    state.buckets[bucket] += 1
                }
                state.delivered += sentNanoseconds.count
            }
        }

        func reset() { state.withLock { $0 = (Array(repeating: 0, count: $0.buckets.count), 0) } }

        func summary() -> (delivered: Int, p50: Double, p99: Double, max: Double) {
            state.withLock { state in
                func percentile(_ fraction: Double) -> Double {
                    let target = Int(Double(state.delivered) * fraction)
                    var seen = 0
                    for (bucket, count) in state.buckets.enumerated() {
                        seen += count
                        if seen > target {
                            return bucket < 10_000 ? Double(bucket + 1) / 10 : 1_000 + Double(bucket - 10_000 + 1) * 10
                        }
                    }
                    return .infinity
                }
                let last = state.buckets.lastIndex { $0 > 0 } ?? 0
                return (
                    state.delivered, percentile(0.5), percentile(0.99),
                    last < 10_000 ? Double(last + 1) / 10 : 1_000 + Double(last - 10_000 + 1) * 10
                )
            }
        }
    }

    static func parse(_ arguments: [String]) -> (port: Int, clients: Int, seconds: Int, filtered: Bool, batched: Bool) {
        var parsed = (port: 0, clients: 100, seconds: 10, filtered: false, batched: false)
        var iterator = arguments.makeIterator()
        while let argument = iterator.next() {
            switch argument {
            case "--port": parsed.port = iterator.next().flatMap(Int.init) ?? parsed.port
            case "--clients": parsed.clients = iterator.next().flatMap(Int.init) ?? parsed.clients
            case "--seconds": parsed.seconds = iterator.next().flatMap(Int.init) ?? parsed.seconds
            case "--filtered": parsed.filtered = true
            case "--batched": parsed.batched = true
            default: break
            }
        }
        return parsed
    }

    static func run(arguments: [String]) async throws {
        let (port, clients, seconds, filtered, batched) = parse(arguments)
        let key = ProcessInfo.processInfo.environment["TRIBUTARY_BENCH_KEY"] ?? ""
        let stats = Stats()
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        for index in 0..<clients {
            if index % 200 == 199 { try? await Task.sleep(for: .milliseconds(100)) }
            var subscribe = #"{"op":"subscribe","id":"s","stream":"events","from":"latest""#
            if filtered {
                subscribe += #","filter":"address == \"\#(GatewayFanoutBenchmark.address(index % 1_000))\"""#
            }
            subscribe += "}"
            let upgrade =
                "GET /v1/stream\(batched ? "?frames=batched" : "") HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\n"
                + "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                + "Sec-WebSocket-Version: 13\r\nAuthorization: Bearer \(key)\r\n\r\n"
            let message = Array(subscribe.utf8)
            let connected = ClientBootstrap(group: group)
                .channelOption(.socketOption(.tcp_nodelay), value: 1)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(
                            LoadConnectionHandler(upgrade: Array(upgrade.utf8), subscribe: message, stats: stats))
                    }
                }
                .connect(host: "127.0.0.1", port: port)
            connected.whenFailure { _ in stats.closed.add(1, ordering: .relaxed) }
        }
        while stats.subscribed.load(ordering: .relaxed) + stats.closed.load(ordering: .relaxed) < clients {
            try? await Task.sleep(for: .milliseconds(50))
        }
        print("READY")
        fflush(nil)
        try? await Task.sleep(for: .seconds(3))
        stats.reset()
        let cpuBefore = processCPUSeconds()
        let started = ContinuousClock.now
        try? await Task.sleep(for: .seconds(seconds))
        let elapsed = (ContinuousClock.now - started).secondsValue
        let cpu = (processCPUSeconds() - cpuBefore) / elapsed * 100
        let summary = stats.summary()
        print(
            "RESULT connected=\(stats.connected.load(ordering: .relaxed)) closed=\(stats.closed.load(ordering: .relaxed)) delivered=\(summary.delivered) per_second=\(Int(Double(summary.delivered) / elapsed)) p50_ms=\(summary.p50) p99_ms=\(summary.p99) max_ms=\(summary.max) cpu_percent=\(Int(cpu))"
        )
        fflush(nil)
        exit(0)
    }

    /// Every decimal number in quotes right after `"blockTimestamp":"` in `bytes` (one per
    /// message). The marker's `T` (twice per event, against a quote every few bytes) is found
    /// with `memchr`.
    static func sendTimes(in bytes: UnsafeRawBufferPointer, into found: inout [Int64]) {
        guard let base = bytes.baseAddress else { return }
        let anchor = 6  // the index of "T" in the marker
        marker.withUnsafeBytes { marker in
            var index = anchor
            while index < bytes.count, let hit = memchr(base + index, Int32(UInt8(ascii: "T")), bytes.count - index) {
                let start = base.distance(to: UnsafeRawPointer(hit)) - anchor
                guard start + marker.count <= bytes.count, memcmp(base + start, marker.baseAddress!, marker.count) == 0
                else {
                    index = start + anchor + 1
                    continue
                }
                var position = start + marker.count
                var value: Int64 = 0
                while position < bytes.count, bytes[position] >= 48, bytes[position] <= 57 {
                    value = value * 10 + Int64(bytes[position] - 48)
                    position += 1
                }
                found.append(value)
                index = position + anchor
            }
        }
    }

    private static let marker = Array("\"blockTimestamp\":\"".utf8)
}

/// One load-client connection: sends the upgrade request, then the (masked) subscribe message
/// once the server answers 101, then reads server frames: text frames are scanned for send
/// times, pings answered, a close ends the connection.
private final class LoadConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let upgrade: [UInt8]
    private let subscribe: [UInt8]
    private let stats: GatewayLoadClient.Stats
    private var upgraded = false
    private var subscribed = false
    /// Bytes of a frame (or of the upgrade answer) not complete yet.
    private var pending: ByteBuffer?
    private var sent: [Int64] = []

    init(upgrade: [UInt8], subscribe: [UInt8], stats: GatewayLoadClient.Stats) {
        self.upgrade = upgrade
        self.subscribe = subscribe
        self.stats = stats
    }

    func channelActive(context: ChannelHandlerContext) {
        context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(bytes: upgrade)), promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        stats.closed.add(1, ordering: .relaxed)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = unwrapInboundIn(data)
        if var earlier = pending.take() {  // taken, so appending does not copy shared storage
            earlier.writeBuffer(&buffer)
            buffer = earlier
        }
        if !upgraded {
            guard let end = buffer.readableBytesView.firstRange(of: Array("\r\n\r\n".utf8))?.upperBound else {
                pending = buffer
                return
            }
            let status = String(decoding: buffer.readableBytesView.prefix(12), as: UTF8.self)
            guard status.hasSuffix("101") else {
                context.close(promise: nil)
                return
            }
            buffer.moveReaderIndex(to: end)
            upgraded = true
            stats.connected.add(1, ordering: .relaxed)
            context.writeAndFlush(wrapOutboundOut(Self.maskedFrame(opcode: 0x1, subscribe, context)), promise: nil)
        }
        let received = Int64(Date().timeIntervalSince1970 * 1e9)
        sent.removeAll(keepingCapacity: true)
        while let (opcode, headerLength, payloadLength) = Self.frameHeader(buffer),
            buffer.readableBytes >= headerLength + payloadLength
        {
            buffer.moveReaderIndex(forwardBy: headerLength)
            switch opcode {
            case 0x0, 0x1:
                if !subscribed {
                    subscribed = true  // the first text frame is the `subscribed` answer
                    stats.subscribed.add(1, ordering: .relaxed)
                }
                buffer.withUnsafeReadableBytes { bytes in
                    GatewayLoadClient.sendTimes(
                        in: UnsafeRawBufferPointer(rebasing: bytes[..<payloadLength]), into: &sent)
                }
            case 0x9:
                let payload = Array(buffer.readableBytesView.prefix(payloadLength))
                context.writeAndFlush(wrapOutboundOut(Self.maskedFrame(opcode: 0xA, payload, context)), promise: nil)
            case 0x8:
                context.close(promise: nil)
                return
            default:
                break
            }
            buffer.moveReaderIndex(forwardBy: payloadLength)
        }
        if buffer.readableBytes > 0 {
            buffer.discardReadBytes()  // keep only the incomplete frame
            pending = buffer
        }
        stats.record(sentNanoseconds: sent, receivedNanoseconds: received)
    }

    /// The opcode and the header and payload lengths of the server frame starting `buffer`, once
    /// its header is complete.
    private static func frameHeader(_ buffer: ByteBuffer) -> (UInt8, Int, Int)? {
        guard let first = buffer.getInteger(at: buffer.readerIndex, as: UInt8.self),
            let second = buffer.getInteger(at: buffer.readerIndex + 1, as: UInt8.self)
        else { return nil }
        let maskLength = second & 0x80 == 0 ? 0 : 4
        switch second & 0x7F {
        case 126:
            guard let length = buffer.getInteger(at: buffer.readerIndex + 2, as: UInt16.self) else { return nil }
            return (first & 0x0F, 4 + maskLength, Int(length))
        case 127:
            guard let length = buffer.getInteger(at: buffer.readerIndex + 2, as: UInt64.self) else { return nil }
            return (first & 0x0F, 10 + maskLength, Int(length))
        case let length:
            return (first & 0x0F, 2 + maskLength, Int(length))
        }
    }

    /// A client frame (clients must mask what they send).
    private static func maskedFrame(opcode: UInt8, _ payload: [UInt8], _ context: ChannelHandlerContext) -> ByteBuffer {
        let mask: [UInt8] = [0x5A, 0x17, 0xC3, 0x2E]
        var frame = context.channel.allocator.buffer(capacity: payload.count + 14)
        frame.writeInteger(0x80 | opcode)
        if payload.count < 126 {
            frame.writeInteger(0x80 | UInt8(payload.count))
        } else {
            frame.writeInteger(UInt8(0x80 | 126))
            frame.writeInteger(UInt16(payload.count))
        }
        frame.writeBytes(mask)
        frame.writeBytes(payload.enumerated().map { $1 ^ mask[$0 % 4] })
        return frame
    }
}
