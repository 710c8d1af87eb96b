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
                for frame in StreamRoutes.frames(messages, limit: StreamRoutes.batchedFrameLimit) {
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
