import Hummingbird
import HummingbirdWebSocket
import NIOCore
import NIOWebSocket

/// The WebSocket router's request context: Hummingbird's, plus the connection's channel, so
/// stream messages can be written from the channel's event loop (``ChannelDrain``).
struct StreamRequestContext: RequestContext, WebSocketRequestContext {
    var coreContext: CoreRequestContextStorage
    let webSocket: WebSocketHandlerReference<Self>
    /// The connection.
    let channel: any Channel

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        webSocket = .init()
        channel = source.channel
    }
}

/// Writes one WebSocket connection's queued stream messages from its event loop.
///
/// The loop's ``LoopFeed`` queues a connection's live messages and runs its drain right after;
/// any other push to an idle ``OutboundQueue`` (control messages, a replay's pushes, the queue's
/// close) schedules one drain on the loop. The drain writes every queued message as frames and flushes once. A writer task per connection (through
/// Hummingbird's async writer) cost a task wake-up and an event-loop hop per frame, which at
/// thousands of connections was most of the gateway's CPU. While the socket cannot take more,
/// messages stay queued, where the slow-consumer limits see them; the drain resumes when the
/// channel is writable again.
///
/// Frames are written already encoded, through ``StreamFrameWriter``'s context next to the
/// channel's head: a message made once for many connections carries its frame (server frames
/// are not masked, so every client gets the same bytes), and the pipeline's frame encoder is
/// skipped. Control frames (pings, close) still go through Hummingbird's writer and the
/// encoder; both write whole frames on the same loop, and once a close frame has gone out
/// (ours, or Hummingbird's answer to the client's or to a missed ping) no data frame follows
/// (``CloseFrameWatcher``).
final class ChannelDrain: DrainTarget {
    private let channel: any Channel
    private let batched: Bool
    /// The writer's context while it is in the pipeline.
    private let head: NIOLoopBoundBox<ChannelHandlerContext?>
    /// Set when a close frame was written: nothing may follow it.
    private let closing: NIOLoopBoundBox<Bool>
    /// Messages taken per round: a batched frame's worth, and a bound on one drain's share of
    /// the loop.
    static let batch = 256

    init(channel: any Channel, batched: Bool) {
        self.channel = channel
        self.batched = batched
        head = .makeEmptyBox(valueType: ChannelHandlerContext.self, eventLoop: channel.eventLoop)
        closing = .makeBoxSendingValue(false, as: Bool.self, eventLoop: channel.eventLoop)
    }

    var eventLoop: any EventLoop { channel.eventLoop }

    /// Puts the frame writer into the channel's pipeline (its writability changes run `queue`'s
    /// drain) and the close-frame watcher above the frame encoder.
    func install(draining queue: OutboundQueue) async throws {
        try await channel.eventLoop.submit { try self.installOnLoop(draining: queue) }.get()
    }

    /// ``install(draining:)`` on the channel's event loop.
    func installOnLoop(draining queue: OutboundQueue) throws {
        let pipeline = channel.pipeline.syncOperations
        try pipeline.addHandler(StreamFrameWriter(head: head) { [self] in run(queue) }, position: .first)
        // Above the frame encoder, where Hummingbird's frames still are frames.
        let encoder = try pipeline.handler(type: WebSocketFrameEncoder.self)
        try pipeline.addHandler(CloseFrameWatcher(closing: closing), position: .after(encoder))
    }

    /// Writes what `queue` holds while the channel takes it; on the channel's event loop.
    func run(_ queue: OutboundQueue) {
        channel.eventLoop.assertInEventLoop()
        // Not installed yet, the channel closed, or a close frame went out.
        guard let context = head.value, !closing.value else { return }
        var wrote = false
        queue.drain(limit: Self.batch, canWrite: { channel.isActive && channel.isWritable }) { messages in
            wrote = true
            if batched, messages.count > 1 {
                // Nearly always one frame: made without the lists `frames` needs to split.
                let length = messages.reduce(messages.count - 1) { $0 + $1.bytes.count }
                if length <= Self.batchedFrameLimit {
                    context.write(NIOAny(Self.frame(joining: messages.lazy.map(\.bytes), length: length)), promise: nil)
                } else {
                    for frame in Self.frames(messages.map(\.bytes), limit: Self.batchedFrameLimit) {
                        context.write(NIOAny(frame), promise: nil)
                    }
                }
            } else {
                for message in messages {
                    context.write(NIOAny(message.frame ?? Self.frame(message.bytes)), promise: nil)
                }
            }
        }
        if wrote { context.flush() }
    }

    /// The most a batched frame carries: with its header, 64 KiB at most (NIO rounds a buffer's
    /// capacity up to a power of two), so its buffer stays under malloc's mmap threshold (128
    /// KiB) and is reused heap memory rather than fresh pages the kernel must zero; and small
    /// enough for any client to read without special buffers.
    static let batchedFrameLimit = (64 << 10) - 10

    /// `message` as one final, unmasked text frame.
    static func frame(_ message: [UInt8]) -> ByteBuffer {
        frame(joining: CollectionOfOne(message), length: message.count)
    }

    /// Messages joined into final, unmasked text frames of at most `limit` payload bytes (a
    /// larger message gets its own), separated by newlines.
    static func frames(_ messages: [[UInt8]], limit: Int) -> [ByteBuffer] {
        // Which messages share a frame, and the frame's payload length.
        var groups: [(range: Range<Int>, length: Int)] = []
        var start = 0
        var length = 0
        for (index, message) in messages.enumerated() {
            if index > start, length + message.count + 1 > limit {
                groups.append((start..<index, length))
                start = index
                length = 0
            }
            length += (index > start ? 1 : 0) + message.count
        }
        if start < messages.count { groups.append((start..<messages.count, length)) }
        return groups.map { range, length in frame(joining: messages[range], length: length) }
    }

    /// One final, unmasked text frame (RFC 6455 section 5.2, as a server sends it) of `messages`
    /// separated by newlines; `length` is that payload's size. Sized once: the messages are
    /// copied into it exactly once, without regrowing.
    private static func frame(joining messages: some Collection<[UInt8]>, length: Int) -> ByteBuffer {
        var frame = ByteBuffer()
        frame.reserveCapacity(length + 10)
        frame.writeInteger(UInt8(0x81))  // FIN, text
        switch length {
        case ..<126:
            frame.writeInteger(UInt8(length))
        case ..<65_536:
            frame.writeInteger(UInt8(126))
            frame.writeInteger(UInt16(length))
        default:
            frame.writeInteger(UInt8(127))
            frame.writeInteger(UInt64(length))
        }
        for (index, message) in messages.enumerated() {
            if index > 0 { frame.writeInteger(UInt8(ascii: "\n")) }
            frame.writeBytes(message)
        }
        return frame
    }
}

/// Just above the WebSocket frame encoder: notes when a close frame goes out, so the drain writes
/// no data frame after it.
final class CloseFrameWatcher: ChannelOutboundHandler, Sendable {
    typealias OutboundIn = WebSocketFrame
    private let closing: NIOLoopBoundBox<Bool>

    init(closing: NIOLoopBoundBox<Bool>) {
        self.closing = closing
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if unwrapOutboundIn(data).opcode == .connectionClose { closing.value = true }
        context.write(data, promise: promise)
    }
}

/// Next to the channel's head: lends ``ChannelDrain`` its context, so encoded frames go straight
/// to the socket, and runs the drain when the channel becomes writable again. Everything else
/// passes through.
final class StreamFrameWriter: ChannelDuplexHandler, Sendable {
    typealias InboundIn = NIOAny
    typealias OutboundIn = NIOAny
    private let head: NIOLoopBoundBox<ChannelHandlerContext?>
    private let onWritable: @Sendable () -> Void

    init(head: NIOLoopBoundBox<ChannelHandlerContext?>, onWritable: @escaping @Sendable () -> Void) {
        self.head = head
        self.onWritable = onWritable
    }

    func handlerAdded(context: ChannelHandlerContext) {
        head.value = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        head.value = nil
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable { onWritable() }
        context.fireChannelWritabilityChanged()
    }
}
