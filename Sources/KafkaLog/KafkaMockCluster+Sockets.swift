#if canImport(Glibc)
    import Glibc
#endif

extension KafkaMockCluster {
    /// Sets `TCP_NODELAY` on the mock brokers' listening sockets, which accepted connections
    /// inherit on Linux.
    ///
    /// Real brokers disable Nagle's algorithm; the 2.0.2 mock does not, so once a connection
    /// leaves TCP quick-ACK mode, every response written in two segments waits for the client's
    /// delayed ACK (~40 ms). Without this, each acknowledged append against the mock takes
    /// ~40 ms, an artifact no real cluster shows.
    static func disableNagleOnListeners(ports: Set<UInt16>) {
        #if canImport(Glibc)
            var limit = rlimit()
            getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit)
            let maximum = Int32(clamping: min(limit.rlim_cur, 65_536))
            for descriptor in 3..<maximum {
                var address = sockaddr_in()
                var length = socklen_t(MemoryLayout<sockaddr_in>.size)
                let named = withUnsafeMutablePointer(to: &address) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
                }
                guard named == 0, address.sin_family == sa_family_t(AF_INET),
                    ports.contains(UInt16(bigEndian: address.sin_port))
                else { continue }
                var listening: Int32 = 0
                var optionLength = socklen_t(MemoryLayout<Int32>.size)
                guard getsockopt(descriptor, SOL_SOCKET, SO_ACCEPTCONN, &listening, &optionLength) == 0, listening != 0
                else { continue }
                var one: Int32 = 1
                _ = setsockopt(descriptor, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
            }
        #endif
    }

    /// Binds (without listening) to each port of a broker that was just taken down, so no other
    /// socket can take the port while it is down: connections to it are still refused, and the
    /// 2.0.2 mock aborts the process when it cannot listen on its old port again at
    /// ``setBrokerUp(_:)``. Returns the descriptors to release once it listens again (with
    /// `SO_REUSEADDR` on both sides, a socket that is only bound does not stop it from listening).
    static func reservePorts(_ ports: [UInt16]) -> [Int32] {
        #if canImport(Glibc)
            return ports.compactMap { port -> Int32? in
                let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
                guard descriptor >= 0 else { return nil }
                var one: Int32 = 1
                _ = setsockopt(descriptor, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
                var address = sockaddr_in()
                address.sin_family = sa_family_t(AF_INET)
                address.sin_port = port.bigEndian
                address.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
                let bound = withUnsafePointer(to: &address) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                        bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                    }
                }
                guard bound == 0 else {
                    Glibc.close(descriptor)
                    return nil
                }
                return descriptor
            }
        #else
            return []
        #endif
    }

    /// Releases ports reserved by ``reservePorts(_:)``.
    static func releasePorts(_ descriptors: [Int32]) {
        #if canImport(Glibc)
            for descriptor in descriptors { Glibc.close(descriptor) }
        #endif
    }
}
