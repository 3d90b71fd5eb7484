import Foundation
#if canImport(Glibc)
import Glibc
private let sysConnect = Glibc.connect
private let sysClose = Glibc.close
private let sysSend = Glibc.send
private let noSignal = Int32(MSG_NOSIGNAL)
#elseif canImport(Darwin)
import Darwin
private let sysConnect = Darwin.connect
private let sysClose = Darwin.close
private let sysSend = Darwin.send
private let noSignal: Int32 = 0
#endif

/// One TCP connection carrying newline-ended lines, on plain POSIX sockets. Reads happen on
/// one thread (the remote driver's reader); writes may come from another and are serialised
/// by a lock. `shutdownBoth()` may be called from any thread (a blocked read returns); the
/// descriptor is released by the reader alone, under the lock.
final class LineConnection: @unchecked Sendable {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    private let lock = NSLock()
    private var fd: Int32
    private var buffer: [UInt8] = []
    /// Set while skipping the rest of an over-long line.
    private var discarding = false
    let peer: String

    private init(fd: Int32, peer: String) {
        self.fd = fd; self.peer = peer
    }

    /// Splits `HOST:PORT` (`[v6]:PORT` for IPv6 literals).
    static func parse(address: String) throws -> (host: String, port: UInt16) {
        var host: Substring, port: Substring
        if address.hasPrefix("[") {
            guard let close = address.firstIndex(of: "]"), address[address.index(after: close)...].hasPrefix(":") else {
                throw Failure(description: "'\(address)' is not HOST:PORT (IPv6: [ADDR]:PORT)")
            }
            host = address[address.index(after: address.startIndex)..<close]
            port = address[address.index(close, offsetBy: 2)...]
        } else {
            guard let colon = address.lastIndex(of: ":") else {
                throw Failure(description: "'\(address)' is not HOST:PORT: give the address the job printed, e.g. 127.0.0.1:40123")
            }
            host = address[..<colon]; port = address[address.index(after: colon)...]
        }
        guard !host.isEmpty, let p = UInt16(port), p > 0 else {
            throw Failure(description: "'\(address)' is not HOST:PORT with a port in 1…65535")
        }
        return (String(host), p)
    }

    /// Connects within `timeout` seconds, trying each address the name resolves to.
    static func connect(host: String, port: UInt16, timeout: Double) throws -> LineConnection {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        #if canImport(Glibc)
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        #else
        hints.ai_socktype = SOCK_STREAM
        #endif
        var list: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(host, String(port), &hints, &list)
        guard rc == 0, let first = list else {
            throw Failure(description: "cannot resolve \(host): \(String(cString: gai_strerror(rc)))")
        }
        defer { freeaddrinfo(first) }
        var lastError = "no address"
        var cursor: UnsafeMutablePointer<addrinfo>? = first
        while let ai = cursor {
            cursor = ai.pointee.ai_next
            let fd = socket(ai.pointee.ai_family, ai.pointee.ai_socktype, ai.pointee.ai_protocol)
            guard fd >= 0 else { lastError = String(cString: strerror(errno)); continue }
            // Non-blocking connect so an unreachable host costs `timeout`, not minutes.
            let flags = fcntl(fd, F_GETFL, 0)
            _ = fcntl(fd, F_SETFL, flags | O_NONBLOCK)
            var r = sysConnect(fd, ai.pointee.ai_addr, ai.pointee.ai_addrlen)
            if r != 0 && errno == EINPROGRESS {
                var p = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
                let ready = poll(&p, 1, Int32(timeout * 1000))
                if ready == 1 {
                    var err: Int32 = 0
                    var len = socklen_t(MemoryLayout<Int32>.size)
                    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len)
                    r = err == 0 ? 0 : -1
                    if err != 0 { errno = err }
                } else {
                    errno = ready == 0 ? ETIMEDOUT : errno
                    r = -1
                }
            }
            if r != 0 {
                lastError = String(cString: strerror(errno))
                _ = sysClose(fd)
                continue
            }
            _ = fcntl(fd, F_SETFL, flags)
            var one: Int32 = 1
            setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
            // Reads wake at least twice a second so the reader can notice a stop.
            var tv = timeval(tv_sec: 0, tv_usec: 500_000)
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
            var sendTimeout = timeval(tv_sec: 5, tv_usec: 0)
            setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &sendTimeout, socklen_t(MemoryLayout<timeval>.size))
            return LineConnection(fd: fd, peer: "\(host):\(port)")
        }
        throw Failure(description: "cannot connect to \(host):\(port): \(lastError)")
    }

    /// Writes all of `bytes`; throws when the connection is closed or the peer stopped reading.
    func write(_ bytes: [UInt8]) throws {
        lock.lock()
        defer { lock.unlock() }
        guard fd >= 0 else { throw Failure(description: "the connection is closed") }
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { raw in
                sysSend(fd, raw.baseAddress, raw.count, noSignal)
            }
            if n < 0 {
                if errno == EINTR { continue }
                throw Failure(description: "sending to \(peer) failed: \(String(cString: strerror(errno)))")
            }
            sent += n
        }
    }

    enum ReadResult {
        case line([UInt8])
        /// A line longer than the limit was skipped (its length so far).
        case oversized(Int)
        /// Nothing within the read timeout.
        case idle
        case closed(String)
    }

    /// The next complete line (without `\n`), `.idle` after about half a second of silence.
    /// Only the reader thread calls this.
    func readLine(limit: Int) -> ReadResult {
        while true {
            if let nl = buffer.firstIndex(of: 0x0A) {
                let line = Array(buffer[..<nl])
                buffer.removeSubrange(...nl)
                if discarding { discarding = false; continue }   // the tail of a skipped line
                return .line(line)
            }
            if buffer.count > limit {
                let skipped = buffer.count
                buffer.removeAll(keepingCapacity: true)
                if !discarding { discarding = true; return .oversized(skipped) }
            }
            var chunk = [UInt8](repeating: 0, count: 65_536)
            let current = lock.withLock { fd }
            guard current >= 0 else { return .closed("closed by this side") }
            let n = chunk.withUnsafeMutableBytes { recv(current, $0.baseAddress, $0.count, 0) }
            if n > 0 {
                buffer.append(contentsOf: chunk[..<n])
            } else if n == 0 {
                return .closed("the job closed the connection")
            } else if errno == EAGAIN || errno == EWOULDBLOCK {
                return .idle
            } else if errno == EINTR {
                continue
            } else {
                return .closed(String(cString: strerror(errno)))
            }
        }
    }

    /// Shuts the connection down: a blocked read returns and later writes fail. Any thread.
    func shutdownBoth() {
        lock.lock()
        defer { lock.unlock() }
        if fd >= 0 { shutdown(fd, Int32(SHUT_RDWR)) }
    }

    /// Releases the descriptor. Only the reader thread calls this (after its last read), so a
    /// read never races with the descriptor's reuse.
    func release() {
        lock.lock()
        defer { lock.unlock() }
        guard fd >= 0 else { return }
        shutdown(fd, Int32(SHUT_RDWR))
        _ = sysClose(fd)
        fd = -1
    }

    deinit { release() }
}
