// snapshot-crashtest <root> <count> [--file-size-limit BYTES]
//
// A child process for SessionStore's crash tests. It saves the snapshot "victim" under <root>
// `count` times; save number i writes i everywhere (every weight, an int64 scalar, every
// optimizer moment, session.json's "iteration" and summary.step, the files' metadata), so a
// reader can tell whether the three files of a folder come from the same save. The kill test
// SIGKILLs it at random moments. With --file-size-limit the process cannot write files larger
// than BYTES (RLIMIT_FSIZE), which makes writes fail the way a full disk does.
// Prints nothing except errors; exit status 0 on success, 1 on a save error, 2 on bad usage.

import SessionStore
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Elements of the weight tensor: 4 MiB of float32, large enough that a save takes a while.
let weightElements = 1 << 20
/// Elements of the optimizer tensor.
let momentElements = 1 << 18

func contents(iteration i: Int) -> SnapshotContents {
    let weights = [
        NamedTensor(name: "features.0.weight", shape: [1024, 1024],
                    floats: [Float](repeating: Float(i), count: weightElements)),
        NamedTensor(name: "features.1.num_batches_tracked", shape: [], integers: [Int64(i)]),
    ]
    let optimizer = [
        NamedTensor(name: "features.0.weight", shape: [256, 1024],
                    floats: [Float](repeating: Float(i), count: momentElements)),
    ]
    let json = """
        {"format": "spherelab-session", "version": 1, "iteration": \(i),
         "summary": {"name": "victim", "step": \(i), "dataset": "crashtest", "model": "none", "variant": "none"}}
        """
    return SnapshotContents(weights: weights, optimizer: optimizer, sessionJSON: Array(json.utf8),
                            metadata: ["iteration": String(i)])
}

func fail(_ message: String, status: Int32) -> Never {
    // write(2) rather than the C `stderr` global, which Swift 6 treats as shared mutable state.
    let line = Array("snapshot-crashtest: \(message)\n".utf8)
    _ = line.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
    exit(status)
}

let arguments = CommandLine.arguments
let usage = "usage: snapshot-crashtest <root> <count> [--file-size-limit BYTES]"
guard arguments.count == 3 || arguments.count == 5, let count = Int(arguments[2]), count >= 0 else {
    fail(usage, status: 2)
}
if arguments.count == 5 {
    guard arguments[3] == "--file-size-limit", let limit = UInt64(arguments[4]) else { fail(usage, status: 2) }
    // Without ignoring SIGXFSZ the kernel would kill the process instead of failing the write.
    signal(SIGXFSZ, SIG_IGN)
    var bounds = rlimit(rlim_cur: rlim_t(limit), rlim_max: rlim_t(limit))
    #if canImport(Glibc)
    let resource = __rlimit_resource_t(RLIMIT_FSIZE.rawValue)
    #else
    let resource = RLIMIT_FSIZE
    #endif
    guard setrlimit(resource, &bounds) == 0 else { fail("setrlimit failed: errno \(errno)", status: 2) }
}

let store = SnapshotStore(root: arguments[1])
for i in stride(from: 1, through: count, by: 1) {
    do {
        try store.save(contents(iteration: i), name: "victim")
    } catch {
        fail("save \(i) failed: \(error)", status: 1)
    }
}
