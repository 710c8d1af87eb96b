import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The locks a process holds on an embedded data directory for the roles it runs: one file per
/// role under `<directory>/locks/`. The embedded log's consumer groups coordinate the members of
/// one process only, so a second process running the same role on the same directory would
/// process everything again (an adapter: fetch its chain again); it is refused instead, with
/// the process that holds the role. Readers (`topics`, `tail`) take no lock. The kernel releases
/// the locks when the process ends, however it ends (`kill -9` included), so a restart never
/// finds a stale one.
///
/// The one place in the commands that calls `open` and `flock`.
final class EmbeddedRoleLocks: Sendable {
    private let descriptors: [Int32]

    private init(descriptors: [Int32]) {
        self.descriptors = descriptors
    }

    deinit {
        for descriptor in descriptors { close(descriptor) }
    }

    /// The lock names of `roles` (which consume through consumer groups) and of the adapters of
    /// `chains`. A gateway takes none: several may serve one directory on different ports.
    static func names(roles: Set<Role>, chains: [String]) -> [String] {
        let consuming: [Role] = [.processor, .router, .wasmHost]
        return consuming.filter(roles.contains).map(\.rawValue)
            + (roles.contains(.adapter) ? chains.map { "adapter-\($0)" } : [])
    }

    /// How a lock's name reads in a message: "the processor role", "the adapter of chain devnet".
    private static func describe(_ name: String) -> String {
        name.hasPrefix("adapter-") ? "the adapter of chain \(name.dropFirst("adapter-".count))" : "the \(name) role"
    }

    /// Takes every lock in `names` on `directory` (created if missing), or none.
    ///
    /// - Throws: ``CommandError`` `.unavailable` when another process holds one of them.
    static func acquire(_ names: [String], directory: String) throws -> EmbeddedRoleLocks {
        let folder = URL(fileURLWithPath: directory).appendingPathComponent("locks")
        do {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        } catch {
            throw CommandError(.unavailable, "cannot create \(folder.path): \(error.localizedDescription)")
        }
        var taken: [Int32] = []
        do {
            for name in names.sorted() {
                let path = folder.appendingPathComponent("\(name).lock").path
                // Close-on-exec: a child (the devnet) must not inherit, and so keep, the lock.
                let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
                guard descriptor >= 0 else {
                    throw CommandError(.unavailable, "cannot open \(path): \(String(cString: strerror(errno)))")
                }
                guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
                    let failure = errno
                    guard failure == EWOULDBLOCK else {
                        close(descriptor)
                        throw CommandError(.unavailable, "cannot lock \(path): \(String(cString: strerror(failure)))")
                    }
                    let holder = (try? String(contentsOfFile: path, encoding: .utf8))?
                        .trimmingCharacters(in: .whitespacesAndNewlines)
                    close(descriptor)
                    throw CommandError(
                        .unavailable,
                        "another tributary process\(holder.map { $0.isEmpty ? "" : " (pid \($0))" } ?? "") runs \(Self.describe(name)) on \(directory): on the embedded log each role runs in one process (a second one would process everything again); stop it, or pass another --data directory (on Kafka, processes of one role share the work)"
                    )
                }
                taken.append(descriptor)
                // The holder's pid, for the message above; the lock itself is the flock.
                let pid = Array("\(getpid())\n".utf8)
                _ = ftruncate(descriptor, 0)
                _ = pid.withUnsafeBytes { pwrite(descriptor, $0.baseAddress, $0.count, 0) }
            }
        } catch {
            for descriptor in taken { close(descriptor) }
            throw error
        }
        return EmbeddedRoleLocks(descriptors: taken)
    }
}
