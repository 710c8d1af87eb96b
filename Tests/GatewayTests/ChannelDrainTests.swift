import NIOCore
import NIOEmbedded
import NIOWebSocket
import Testing

@testable import Gateway

/// The drain's frames on an embedded channel with the WebSocket frame encoder, as after an
/// upgrade: what reaches the socket, byte for byte.
@Suite struct ChannelDrainTests {
    static func connectedChannel() async throws -> EmbeddedChannel {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(WebSocketFrameEncoder())
        try await channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).get()
        return channel
    }

    /// Everything written to the socket, as one buffer.
    static func written(_ channel: EmbeddedChannel) throws -> [UInt8] {
        var bytes: [UInt8] = []
        while let buffer = try channel.readOutbound(as: ByteBuffer.self) { bytes += buffer.readableBytesView }
        return bytes
    }

    @Test func framesCarryTheirLengthInTheShortestForm() throws {
        for length in [0, 125, 126, 65_535, 65_536, 70_000] {
            let frame = ChannelDrain.frame(Array(repeating: UInt8(ascii: "x"), count: length))
            let header = Array(frame.readableBytesView.prefix(10))
            #expect(header[0] == 0x81, "FIN and text")
            switch length {
            case ..<126:
                #expect(header[1] == UInt8(length) && frame.readableBytes == 2 + length)
            case ..<65_536:
                #expect(header[1] == 126 && Int(header[2]) << 8 | Int(header[3]) == length)
                #expect(frame.readableBytes == 4 + length)
            default:
                #expect(header[1] == 127 && header[2...9].reduce(0) { $0 << 8 | Int($1) } == length)
                #expect(frame.readableBytes == 10 + length)
            }
        }
    }

    @Test func batchedFramesStayWithinTheLimitHeaderIncluded() {
        let small = (0..<100).map { _ in Array(repeating: UInt8(ascii: "m"), count: 1_000) }
        let frames = ChannelDrain.frames(small, limit: ChannelDrain.batchedFrameLimit)
        #expect(frames.count == 2)
        let payload = frames.flatMap { Array($0.readableBytesView.dropFirst(4)) }
        #expect(payload.count == 100 * 1_000 + 98, "messages joined by newlines, one frame boundary")
        // Two messages whose joined payload (65,535 bytes) fits 64 KiB only without the header.
        let halves = [Array(repeating: UInt8(ascii: "h"), count: 32_767), Array(repeating: UInt8(ascii: "h"), count: 32_767)]
        for frame in frames + ChannelDrain.frames(halves, limit: ChannelDrain.batchedFrameLimit) {
            #expect(frame.readableBytes <= 64 << 10, "\(frame.readableBytes) bytes with the header")
        }
    }

    /// Once a close frame went out — here Hummingbird's, written through the pipeline — the
    /// drain writes no data frame after it.
    @Test func noDataFrameFollowsACloseFrame() async throws {
        let channel = try await Self.connectedChannel()
        let drain = ChannelDrain(channel: channel, batched: false)
        let queue = OutboundQueue(capacity: 10, maxAge: .seconds(60), action: .close, drainTarget: drain)
        try drain.installOnLoop(draining: queue)  // the embedded loop runs on the test's thread
        queue.push(QueuedMessage(bytes: Array("first".utf8), subscription: "s", cursorBefore: ""))
        channel.embeddedEventLoop.run()
        #expect(try Self.written(channel) == [0x81, 5] + Array("first".utf8))

        let close = WebSocketFrame(fin: true, opcode: .connectionClose, data: ByteBuffer(bytes: [0x03, 0xE8]))
        try await channel.writeAndFlush(close).get()
        queue.push(QueuedMessage(bytes: Array("second".utf8), subscription: "s", cursorBefore: ""))
        channel.embeddedEventLoop.run()
        #expect(try Self.written(channel) == [0x88, 2, 0x03, 0xE8], "the close frame, and nothing after it")
        _ = try? await channel.close().get()
    }
}
