import Foundation
import Testing
@testable import SessionStore

// Seeded mutation fuzzing for the store's readers. Every case is a pure function of
// (SPHERELAB_FUZZ_SEED, case index), so a failure printed as "seed S case N" is replayed with
//
//     SPHERELAB_FUZZ_SEED=S SPHERELAB_FUZZ_CASE=N swift test --filter <suite>
//
// SPHERELAB_FUZZ_CASES sets the number of cases per format (default 2 000; scripts/fuzz.sh runs
// 100 000). SPHERELAB_FUZZ_TRACE=1 writes the case about to run to
// $SPHERELAB_FUZZ_TRACE_DIR/spherelab-fuzz-current-<format>.txt (default /dev/shm, else the
// temporary folder), so a trap that kills the process names its case.
// Failing inputs are kept in $TMPDIR/spherelab-fuzz-failures/.

enum FuzzConfig {
    static var environment: [String: String] { ProcessInfo.processInfo.environment }

    static var cases: Int { environment["SPHERELAB_FUZZ_CASES"].flatMap { Int($0) }.map { max(0, $0) } ?? 2_000 }

    static var seed: UInt64 {
        guard let text = environment["SPHERELAB_FUZZ_SEED"] else { return 0x5EED_2025 }
        if text.hasPrefix("0x") { return UInt64(text.dropFirst(2), radix: 16) ?? 0x5EED_2025 }
        return UInt64(text) ?? 0x5EED_2025
    }

    /// The case indices to run: one when SPHERELAB_FUZZ_CASE is set, else 0..<cases.
    static var caseIndices: [Int] {
        if let only = environment["SPHERELAB_FUZZ_CASE"].flatMap({ Int($0) }) { return [only] }
        return Array(0..<cases)
    }

    static var traces: Bool { environment["SPHERELAB_FUZZ_TRACE"] == "1" }

    /// A case slower than this is reported as a possible hang (debug builds, shared machine).
    static let slowCaseSeconds = 2.0
}

/// Where SPHERELAB_FUZZ_TRACE=1 writes the running case: memory when possible (one write per case).
var traceFolder: String {
    if let folder = ProcessInfo.processInfo.environment["SPHERELAB_FUZZ_TRACE_DIR"], !folder.isEmpty { return folder }
    return access("/dev/shm", W_OK) == 0 ? "/dev/shm" : String(NSTemporaryDirectory().dropLast(NSTemporaryDirectory().hasSuffix("/") ? 1 : 0))
}

/// SplitMix64: tiny, seedable, good enough to pick mutations.
struct FuzzRNG: RandomNumberGenerator {
    var state: UInt64

    init(seed: UInt64, index: Int) {
        state = seed ^ (UInt64(truncatingIfNeeded: index) &* 0x9E37_79B9_7F4A_7C15)
        _ = next()
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    mutating func below(_ n: Int) -> Int { n <= 1 ? 0 : Int(next() % UInt64(n)) }
    mutating func chance(_ p: Double) -> Bool { Double(next() >> 11) / Double(1 << 53) < p }
    mutating func pick<T>(_ items: [T]) -> T { items[below(items.count)] }
    mutating func bytes(_ count: Int) -> [UInt8] { (0..<count).map { _ in UInt8(truncatingIfNeeded: next()) } }
}

/// Numbers chosen to break size arithmetic: limits of 32/64-bit types, off-by-ones, values a
/// strict reader must refuse (fractions, exponents, negative zero, leading zeros, huge text).
let hostileNumbers: [String] = [
    "0", "1", "-1", "-0", "7", "8", "255", "256", "65535", "65536",
    "2147483647", "2147483648", "4294967295", "4294967296",
    "9223372036854775807", "9223372036854775808", "-9223372036854775808", "-9223372036854775809",
    "18446744073709551615", "18446744073709551616", "100000001", "99999999999999999999999999999999",
    "1e308", "1e400", "-1e400", "0.5", "1.0", "1E2", "2e-1", "00", "01", "1.", ".5", "+1", "NaN", "Infinity",
    String(repeating: "9", count: 400),
]

// MARK: A JSON value the fuzzer can take apart and put back together

/// Ordered, duplicate-preserving JSON for building inputs. Numbers and raw fragments are text so
/// that invalid spellings can be written on purpose.
indirect enum FuzzJSON: Sendable {
    case object([(String, FuzzJSON)])
    case array([FuzzJSON])
    case string(String)
    case raw(String)  // a number, true/false/null, or deliberately broken text

    static func number(_ n: Int) -> FuzzJSON { .raw(String(n)) }

    func serialized() -> [UInt8] {
        var out: [UInt8] = []
        write(to: &out)
        return out
    }

    func write(to out: inout [UInt8]) {
        switch self {
        case .object(let members):
            out.append(UInt8(ascii: "{"))
            for (i, (key, value)) in members.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                appendJSONString(key, to: &out)
                out.append(UInt8(ascii: ":"))
                value.write(to: &out)
            }
            out.append(UInt8(ascii: "}"))
        case .array(let items):
            out.append(UInt8(ascii: "["))
            for (i, item) in items.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                item.write(to: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .string(let text):
            appendJSONString(text, to: &out)
        case .raw(let text):
            out.append(contentsOf: Array(text.utf8))
        }
    }

    /// Number of nodes, for picking one uniformly.
    var nodeCount: Int {
        switch self {
        case .object(let members): return 1 + members.reduce(0) { $0 + $1.1.nodeCount }
        case .array(let items): return 1 + items.reduce(0) { $0 + $1.nodeCount }
        default: return 1
        }
    }

    /// Replaces node number `index` (pre-order) with `transform(node)`.
    func replacing(node index: Int, with transform: (FuzzJSON) -> FuzzJSON) -> FuzzJSON {
        var counter = index
        return replacing(&counter, transform)
    }

    private func replacing(_ counter: inout Int, _ transform: (FuzzJSON) -> FuzzJSON) -> FuzzJSON {
        if counter == 0 {
            counter -= 1
            return transform(self)
        }
        counter -= 1
        switch self {
        case .object(let members):
            var out: [(String, FuzzJSON)] = []
            for (key, value) in members { out.append((key, counter >= 0 ? value.replacing(&counter, transform) : value)) }
            return .object(out)
        case .array(let items):
            var out: [FuzzJSON] = []
            for item in items { out.append(counter >= 0 ? item.replacing(&counter, transform) : item) }
            return .array(out)
        default:
            return self
        }
    }
}

/// Structural mutations of a JSON document: the kinds a hostile or careless editor produces.
enum JSONMutator {
    static let wrongTypes: [FuzzJSON] = [
        .raw("null"), .raw("true"), .raw("false"), .string(""), .string("x"), .string("nan"), .string("inf"),
        .array([]), .object([]), .raw("1.5"), .raw("-1"), .array([.array([.raw("1")])]), .object([("a", .raw("1"))]),
    ]

    /// Applies one structural mutation; returns the new tree and its name.
    static func mutate(_ doc: FuzzJSON, rng: inout FuzzRNG) -> (FuzzJSON, String) {
        let target = rng.below(doc.nodeCount)
        switch rng.below(9) {
        case 0:
            let number = rng.pick(hostileNumbers)
            return (doc.replacing(node: target) { node in
                if case .raw = node { return .raw(number) }
                if case .array(let items) = node, !items.isEmpty {
                    var copy = items
                    copy[0] = .raw(number)
                    return .array(copy)
                }
                return node
            }, "hostile number \(number.prefix(24)) at node \(target)")
        case 1:
            let replacement = rng.pick(wrongTypes)
            return (doc.replacing(node: target) { _ in replacement }, "wrong type at node \(target)")
        case 2:
            return (doc.replacing(node: target) { node in
                guard case .object(let members) = node, !members.isEmpty else { return node }
                var copy = members
                let member = copy[rng.below(copy.count)]
                let value = rng.chance(0.5) ? member.1 : rng.pick(wrongTypes)
                copy.insert((member.0, value), at: rng.below(copy.count + 1))
                return .object(copy)
            }, "duplicate key in node \(target)")
        case 3:
            let depth = rng.pick([20, 127, 128, 129, 200, 1_000, 5_000])
            let asObject = rng.chance(0.5)
            // Written as text, not as a tree, so that building the input needs no deep recursion.
            return (doc.replacing(node: target) { node in
                let inner = String(decoding: node.serialized(), as: UTF8.self)
                let open = String(repeating: asObject ? "{\"k\":" : "[", count: depth)
                let close = String(repeating: asObject ? "}" : "]", count: depth)
                return .raw(open + inner + close)
            }, "nested \(depth) deep (\(asObject ? "objects" : "arrays")) at node \(target)")
        case 4:
            return (doc.replacing(node: target) { node in
                guard case .object(var members) = node, !members.isEmpty else { return node }
                members.remove(at: rng.below(members.count))
                return .object(members)
            }, "member removed from node \(target)")
        case 5:
            let key = rng.pick(["__metadata__", "", "dtype", "shape", "data_offsets", "summary", "format", "version",
                                "step", "\u{0}", "é", String(repeating: "k", count: 300)])
            return (doc.replacing(node: target) { node in
                guard case .object(var members) = node, !members.isEmpty else { return node }
                let i = rng.below(members.count)
                members[i].0 = key
                return .object(members)
            }, "key renamed to \(key.prefix(12)) in node \(target)")
        case 6:
            let extra = rng.pick(wrongTypes)
            return (doc.replacing(node: target) { node in
                switch node {
                case .object(var members):
                    members.insert(("extra", extra), at: rng.below(members.count + 1))
                    return .object(members)
                case .array(var items):
                    items.insert(extra, at: rng.below(items.count + 1))
                    return .array(items)
                default: return node
                }
            }, "member added in node \(target)")
        case 7:
            let count = rng.pick([0, 1, 9, 64, 4_096, 40_000])
            return (doc.replacing(node: target) { node in
                guard case .array = node else { return node }
                return .array(Array(repeating: .raw("1"), count: count))
            }, "array of \(count) ones at node \(target)")
        default:
            let text = rng.pick(["F32", "F64", "F16", "BF16", "I64", "I32", "U8", "BOOL", "F8_E4M3", "f32", "", "F32 ",
                                 "spherelab-session", "nan", "2025-13-45T99:99:99Z", "99999-01-01T00:00:00Z", "\u{7F}",
                                 String(repeating: "\u{1F9E0}", count: 50)])
            return (doc.replacing(node: target) { node in
                if case .string = node { return .string(text) }
                return node
            }, "string \(text.prefix(12)) at node \(target)")
        }
    }
}

/// Byte-level mutations: what disks, networks and partial copies do to a file.
enum ByteMutator {
    static func mutate(_ input: [UInt8], other: [UInt8], rng: inout FuzzRNG) -> ([UInt8], String) {
        var bytes = input
        let position = bytes.isEmpty ? 0 : rng.below(bytes.count)
        switch rng.below(8) {
        case 0:
            let flips = 1 + rng.below(4)
            for _ in 0..<flips where !bytes.isEmpty { bytes[rng.below(bytes.count)] ^= 1 << UInt8(rng.below(8)) }
            return (bytes, "\(flips) bit flip(s)")
        case 1:
            let value: UInt8 = rng.chance(0.5) ? 0x00 : 0xFF
            let run = 1 + rng.below(rng.chance(0.8) ? 1 : 16)
            for i in position..<min(bytes.count, position + run) { bytes[i] = value }
            return (bytes, "\(run) byte(s) set to \(value) at \(position)")
        case 2:
            let length = rng.chance(0.3) ? rng.below(min(bytes.count + 1, 16)) : rng.below(bytes.count + 1)
            return (Array(bytes.prefix(length)), "truncated to \(length) of \(input.count) bytes")
        case 3:
            let cutA = rng.below(bytes.count + 1), cutB = rng.below(other.count + 1)
            return (Array(bytes.prefix(cutA)) + other.suffix(from: cutB), "splice: \(cutA) bytes + other file from \(cutB)")
        case 4:
            let length = rng.chance(0.7) ? 1 + rng.below(16) : 1 + rng.below(4_096)
            let run = rng.chance(0.5) ? rng.bytes(length) : [UInt8](repeating: rng.pick([0, 0x20, 0x22, 0x5B, 0x7B, 0xFF]), count: length)
            bytes.insert(contentsOf: run, at: min(position, bytes.count))
            return (bytes, "inserted \(length) bytes at \(position)")
        case 5:
            let length = min(bytes.count - position, 1 + rng.below(rng.chance(0.7) ? 8 : 512))
            if length > 0 { bytes.removeSubrange(position..<(position + length)) }
            return (bytes, "deleted \(max(0, length)) bytes at \(position)")
        case 6:
            // Overwrite a run of ASCII digits with a hostile number (a JSON header's shapes/offsets).
            let digits = bytes.indices.filter { bytes[$0] >= 0x30 && bytes[$0] <= 0x39 }
            guard let start = digits.isEmpty ? nil : digits[rng.below(digits.count)] else { return (bytes, "no digits to change") }
            var end = start
            while end < bytes.count, bytes[end] >= 0x30, bytes[end] <= 0x39 { end += 1 }
            let number = rng.pick(hostileNumbers)
            bytes.replaceSubrange(start..<end, with: Array(number.utf8))
            return (bytes, "digits at \(start) replaced by \(number.prefix(24))")
        default:
            let length = min(bytes.count - position, 1 + rng.below(64))
            guard length > 0 else { return (bytes, "nothing to repeat") }
            let chunk = Array(bytes[position..<(position + length)])
            bytes.insert(contentsOf: chunk, at: rng.below(bytes.count + 1))
            return (bytes, "repeated \(length) bytes from \(position)")
        }
    }
}

/// Runs the cases of one format, timing each, and records at most a few failures in detail.
struct FuzzRun {
    let format: String
    var failures = 0
    var outcomes: [String: Int] = [:]
    let clock = ContinuousClock()

    init(format: String) { self.format = format }

    mutating func count(_ outcome: String) { outcomes[outcome, default: 0] += 1 }

    /// Runs `body` for every case index; `body` returns an outcome label or a failure message.
    mutating func run(_ body: (inout FuzzRNG, Int) throws -> Result<String, FuzzFailure>) rethrows {
        let seed = FuzzConfig.seed
        for index in FuzzConfig.caseIndices {
            if FuzzConfig.traces {
                try? "seed \(seed) case \(index)\n".write(toFile: traceFolder + "/spherelab-fuzz-current-\(format).txt",
                                                          atomically: false, encoding: .utf8)
            }
            var rng = FuzzRNG(seed: seed, index: index)
            let start = clock.now
            let result = try body(&rng, index)
            let seconds = (clock.now - start) / .seconds(1)
            switch result {
            case .success(let outcome):
                count(outcome)
                if seconds > FuzzConfig.slowCaseSeconds {
                    fail(FuzzFailure("case took \(seconds) s (possible hang)", input: []), seed: seed, index: index)
                }
            case .failure(let failure):
                fail(failure, seed: seed, index: index)
            }
            if failures >= 10 { break }
        }
    }

    mutating func fail(_ failure: FuzzFailure, seed: UInt64, index: Int) {
        failures += 1
        let folder = NSTemporaryDirectory() + "spherelab-fuzz-failures"
        try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let file = folder + "/\(format)-seed-\(seed)-case-\(index).bin"
        try? Data(failure.input).write(to: URL(fileURLWithPath: file))
        Issue.record("fuzz \(format): seed \(seed) case \(index): \(failure.message) (input saved to \(file))")
    }

    /// "name: count" lines, for the log and for Tests/FUZZ.md.
    var summary: String {
        outcomes.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: ", ")
    }
}

struct FuzzFailure: Error {
    var message: String
    var input: [UInt8]
    init(_ message: String, input: [UInt8]) {
        self.message = message
        self.input = input
    }
}
