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
/// A push to an idle ``OutboundQueue`` schedules one drain on the loop; the drain writes every
/// queued message as frames straight into the channel and flushes once. A writer task per
/// connection (through Hummingbird's async writer) cost a task wake-up and an event-loop hop per
/// frame, which at thousands of connections was most of the gateway's CPU. While the socket
/// cannot take more, messages stay queued, where the slow-consumer limits see them; the drain
/// resumes when the channel is writable again (``WritableAgain``). Control frames (pings, close)
/// still go through Hummingbird's writer; both write whole frames on the same loop.
final class ChannelDrain: DrainTarget {
    private let channel: any Channel
    private let batched: Bool
    /// Messages taken per round: a batched frame's worth, and a bound on one drain's share of
    /// the loop.
    private static let batch = 256

    init(channel: any Channel, batched: Bool) {
        self.channel = channel
        self.batched = batched
    }

    var eventLoop: any EventLoop { channel.eventLoop }

    /// Writes what `queue` holds while the channel takes it; on the channel's event loop.
    func run(_ queue: OutboundQueue) {
        channel.eventLoop.assertInEventLoop()
        var wrote = false
        queue.drain(limit: Self.batch, canWrite: { channel.isActive && channel.isWritable }) { messages in
            wrote = true
            if batched {
                for frame in Self.frames(messages, limit: Self.batchedFrameLimit) {
                    channel.write(WebSocketFrame(fin: true, opcode: .text, data: frame), promise: nil)
                }
            } else {
                for message in messages {
                    let frame = WebSocketFrame(fin: true, opcode: .text, data: channel.allocator.buffer(bytes: message))
                    channel.write(frame, promise: nil)
                }
            }
        }
        if wrote { channel.flush() }
    }

    /// The most a batched frame carries: under malloc's mmap threshold (128 KiB), so a frame's
    /// buffer is reused heap memory rather than fresh pages the kernel must zero, and small
    /// enough for any client to read without special buffers.
    static let batchedFrameLimit = 64 << 10

    /// Messages joined into frames of at most `limit` bytes (a larger message gets its own),
    /// separated by newlines.
    static func frames(_ messages: [[UInt8]], limit: Int) -> [ByteBuffer] {
        var frames: [ByteBuffer] = []
        // Sized once: the batch is copied into its frames exactly once, without regrowing.
        var remaining = messages.reduce(0) { $0 + $1.count + 1 }
        var frame = ByteBuffer()
        frame.reserveCapacity(min(remaining, limit))
        for message in messages {
            if frame.readableBytes > 0, frame.readableBytes + message.count + 1 > limit {
                remaining -= frame.readableBytes + 1
                frames.append(frame)
                frame = ByteBuffer()
                frame.reserveCapacity(min(remaining, limit))
            }
            if frame.readableBytes > 0 { frame.writeInteger(UInt8(ascii: "\n")) }
            frame.writeBytes(message)
        }
        if frame.readableBytes > 0 { frames.append(frame) }
        return frames
    }
}

/// Calls `onWritable` when the channel becomes writable again (the drain waits for it).
final class WritableAgain: ChannelInboundHandler, Sendable {
    typealias InboundIn = NIOAny
    private let onWritable: @Sendable () -> Void

    init(_ onWritable: @escaping @Sendable () -> Void) {
        self.onWritable = onWritable
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable { onWritable() }
        context.fireChannelWritabilityChanged()
    }
}
