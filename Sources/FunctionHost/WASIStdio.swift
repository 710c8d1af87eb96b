import Synchronization
// In-memory stdio for WASI guests needs WasmKit's platform SPI (`WASIFile`, `WASIAbi`): the
// public API only takes host file descriptors, and pipes would need a reader thread per stream.
@_spi(WASIPlatform) import WASI

/// Standard input: the function input, then end-of-file.
final class WASIInput: CharacterStream, Sendable {
    private let bytes: [UInt8]
    private let cursor = Mutex(0)

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    func read(into buffers: GuestBuffers) throws -> WASIAbi.Size {
        try cursor.withLock { cursor in
            var total: WASIAbi.Size = 0
            for index in 0..<buffers.count {
                let count: Int = try buffers.withHostBuffer(at: index) { destination in
                    let count = min(destination.count, bytes.count - cursor)
                    guard count > 0, let target = destination.baseAddress else { return 0 }
                    bytes.withUnsafeBytes { target.copyMemory(from: $0.baseAddress! + cursor, byteCount: count) }
                    return count
                }
                cursor += count
                total += WASIAbi.Size(count)
            }
            return total
        }
    }

    func write(vectored buffers: GuestBuffers) throws -> WASIAbi.Size { throw WASIAbi.Errno.EBADF }
    func fdStat() throws -> WASIAbi.FdStat {
        WASIAbi.FdStat(fsFileType: .CHARACTER_DEVICE, fsFlags: [], fsRightsBase: .FD_READ, fsRightsInheriting: [])
    }
}

/// Standard output or error, kept in memory up to `limit` bytes; writes past it fail with EFBIG
/// and are remembered, so the host can report `output_too_large` (or truncated logs).
final class WASIOutput: CharacterStream, Sendable {
    private struct State {
        var bytes: [UInt8] = []
        var dropped = 0
    }
    private let state = Mutex(State())
    private let limit: Int
    private let failsWhenFull: Bool

    /// `failsWhenFull`: stdout refuses the write (the output is wrong anyway); stderr drops the
    /// excess quietly (logs are best effort).
    init(limit: Int, failsWhenFull: Bool) {
        self.limit = limit
        self.failsWhenFull = failsWhenFull
    }

    var bytes: [UInt8] { state.withLock { $0.bytes } }
    var droppedBytes: Int { state.withLock { $0.dropped } }

    func write(vectored buffers: GuestBuffers) throws -> WASIAbi.Size {
        var total: WASIAbi.Size = 0
        for index in 0..<buffers.count {
            let accepted: Int = try buffers.withHostBuffer(at: index) { source in
                try state.withLock { state in
                    let room = max(0, limit - state.bytes.count)
                    if source.count > room, failsWhenFull {
                        state.dropped += source.count
                        throw WASIAbi.Errno.EFBIG
                    }
                    let kept = min(room, source.count)
                    state.bytes.append(contentsOf: source.bindMemory(to: UInt8.self).prefix(kept))
                    state.dropped += source.count - kept
                    return source.count
                }
            }
            total += WASIAbi.Size(accepted)
        }
        return total
    }

    func read(into buffers: GuestBuffers) throws -> WASIAbi.Size { throw WASIAbi.Errno.EBADF }
    func fdStat() throws -> WASIAbi.FdStat {
        WASIAbi.FdStat(fsFileType: .CHARACTER_DEVICE, fsFlags: [], fsRightsBase: .FD_WRITE, fsRightsInheriting: [])
    }
}

/// What stdin, stdout and stderr have in common: an unseekable character device with no
/// attributes to change.
protocol CharacterStream: WASIFile {}

extension CharacterStream {
    func attributes() throws -> WASIAbi.Filestat {
        WASIAbi.Filestat(dev: 0, ino: 0, filetype: .CHARACTER_DEVICE, nlink: 1, size: 0, atim: 0, mtim: 0, ctim: 0)
    }
    func fileType() throws -> WASIAbi.FileType { .CHARACTER_DEVICE }
    func status() throws -> WASIAbi.Fdflags { [] }
    func setTimes(atim: WASIAbi.Timestamp, mtim: WASIAbi.Timestamp, fstFlags: WASIAbi.FstFlags) throws {
        throw WASIAbi.Errno.ENOTSUP
    }
    func advise(offset: WASIAbi.FileSize, length: WASIAbi.FileSize, advice: WASIAbi.Advice) throws {}
    func close() throws {}
    func setFdStatFlags(_ flags: WASIAbi.Fdflags) throws {}
    func setFilestatSize(_ size: WASIAbi.FileSize) throws { throw WASIAbi.Errno.ENOTSUP }
    func sync() throws {}
    func datasync() throws {}
    func tell() throws -> WASIAbi.FileSize { throw WASIAbi.Errno.ESPIPE }
    func seek(offset: WASIAbi.FileDelta, whence: WASIAbi.Whence) throws -> WASIAbi.FileSize {
        throw WASIAbi.Errno.ESPIPE
    }
    func pread(into buffers: GuestBuffers, offset: WASIAbi.FileSize) throws -> WASIAbi.Size {
        throw WASIAbi.Errno.ESPIPE
    }
    func pwrite(vectored buffers: GuestBuffers, offset: WASIAbi.FileSize) throws -> WASIAbi.Size {
        throw WASIAbi.Errno.ESPIPE
    }
}
