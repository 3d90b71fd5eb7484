import Foundation
import Glibc

/// A loopback TCP server standing in for a job's channel in the attach tests: accepts one
/// client at a time, hands back the lines it received, sends whatever the test scripts.
final class FakeChannelServer: @unchecked Sendable {
    private let listener: Int32
    let port: UInt16
    private var client: Int32 = -1
    private var buffer: [UInt8] = []

    init() throws {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        self.listener = listener
        var one: Int32 = 1
        setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        let bound = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard bound == 0, listen(listener, 4) == 0 else { throw NSError(domain: "fake", code: 1) }
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listener, $0, &len) } }
        port = UInt16(bigEndian: addr.sin_port)
    }

    var address: String { "127.0.0.1:\(port)" }

    /// Waits up to `seconds` for a client.
    func accept(seconds: Double = 10) -> Bool {
        var p = pollfd(fd: listener, events: Int16(POLLIN), revents: 0)
        guard poll(&p, 1, Int32(seconds * 1000)) == 1 else { return false }
        client = Glibc.accept(listener, nil, nil)
        buffer = []
        var tv = timeval(tv_sec: 0, tv_usec: 200_000)
        setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        return client >= 0
    }

    func send(_ text: String) {
        let bytes = Array((text + "\n").utf8)
        _ = bytes.withUnsafeBytes { Glibc.send(client, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }

    func sendRaw(_ bytes: [UInt8]) {
        _ = bytes.withUnsafeBytes { Glibc.send(client, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }

    /// The next line the client sent, parsed as a JSON object (nil after `seconds`).
    func receive(seconds: Double = 10) -> [String: Any]? {
        let end = Date().addingTimeInterval(seconds)
        while Date() < end {
            if let nl = buffer.firstIndex(of: 0x0A) {
                let line = Data(buffer[..<nl])
                buffer.removeSubrange(...nl)
                return (try? JSONSerialization.jsonObject(with: line)) as? [String: Any]
            }
            var chunk = [UInt8](repeating: 0, count: 4096)
            let n = chunk.withUnsafeMutableBytes { recv(client, $0.baseAddress, $0.count, 0) }
            if n > 0 { buffer.append(contentsOf: chunk[..<n]) } else if n == 0 { return nil }
        }
        return nil
    }

    func dropClient() {
        if client >= 0 { shutdown(client, Int32(SHUT_RDWR)); close(client); client = -1 }
    }

    deinit {
        dropClient()
        close(listener)
    }

    // Scripted messages of a small job.
    static let hello = #"{"type":"hello","protocol":1,"run":{"runName":"spherenet9-cosine-fashion-mnist","dataset":"fashion-mnist","model":"SphereNet-9 ×0.25","modelName":"spherenet9","worldSize":2,"backend":"gloo","device":"cpu","stepsPerEpoch":469,"totalSteps":50,"batchSize":128,"layers":["features.0","features.3"],"future":{"x":1}},"commands":["pause","resume","step","set_lr","scale_lr","set_variant","evaluate","save"],"unavailable":["set_optimizer","set_batch_size"]}"#
    static func step(_ i: Int, loss: String = "2.0", replayed: Bool = false) -> String {
        replayed ? #"{"type":"step","step":\#(i),"loss":\#(loss),"accuracy":0.5,"replayed":true}"#
            : #"{"type":"step","step":\#(i),"epoch":0,"loss":\#(loss),"accuracy":0.5,"regularization":0.25,"lr":0.001,"images_per_sec":300.5,"seconds":0.4,"state":"RUNNING"}"#
    }
    static let running = #"{"type":"state","state":"RUNNING","step":0,"epoch":0,"lr":0.001,"variant":"cosine"}"#
}
