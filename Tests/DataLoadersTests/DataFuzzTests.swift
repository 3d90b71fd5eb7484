import CZlib
import Foundation
import Testing
@testable import DataLoaders

// Seeded mutation fuzzing of the dataset readers: IDX image and label files (raw and gzip) and
// CIFAR-10/100 binary files. Every case must end in a DataError that names the file and says
// what was expected and found, or in a load whose sizes match what the file can hold — never a
// trap or a hang.
//
// SPHERELAB_FUZZ_CASES (default 2 000 per format), SPHERELAB_FUZZ_SEED and SPHERELAB_FUZZ_CASE
// (replay one case) work as in the SessionStore fuzz tests; SPHERELAB_FUZZ_TRACE=1 writes the
// running case to $SPHERELAB_FUZZ_TRACE_DIR/spherelab-fuzz-current-<format>.txt (default
// /dev/shm, else the temporary folder). (The small generator and byte
// mutator are repeated here because test targets cannot share code without a library target.)

private enum Config {
    static var environment: [String: String] { ProcessInfo.processInfo.environment }
    static var cases: Int { environment["SPHERELAB_FUZZ_CASES"].flatMap { Int($0) }.map { max(0, $0) } ?? 2_000 }
    static var seed: UInt64 {
        guard let text = environment["SPHERELAB_FUZZ_SEED"] else { return 0x5EED_2025 }
        if text.hasPrefix("0x") { return UInt64(text.dropFirst(2), radix: 16) ?? 0x5EED_2025 }
        return UInt64(text) ?? 0x5EED_2025
    }
    static var caseIndices: [Int] {
        if let only = environment["SPHERELAB_FUZZ_CASE"].flatMap({ Int($0) }) { return [only] }
        return Array(0..<cases)
    }
    static var traces: Bool { environment["SPHERELAB_FUZZ_TRACE"] == "1" }
}

private var traceFolder: String {
    if let folder = ProcessInfo.processInfo.environment["SPHERELAB_FUZZ_TRACE_DIR"], !folder.isEmpty { return folder }
    return access("/dev/shm", W_OK) == 0 ? "/dev/shm" : String(NSTemporaryDirectory().dropLast(NSTemporaryDirectory().hasSuffix("/") ? 1 : 0))
}

private struct Rand {
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

/// 32-bit values that break size arithmetic in an IDX header.
private let hostileWords: [UInt32] = [0, 1, 2, 3, 4, 19, 20, 21, 27, 28, 29, 784, 10_000, 60_000, 1 << 16, 1 << 24,
                                      0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFE, 0xFFFF_FFFF, 0x0000_0803, 0x0000_0801]

private func mutateBytes(_ input: [UInt8], other: [UInt8], rng: inout Rand) -> ([UInt8], String) {
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
        let length = rng.chance(0.3) ? rng.below(min(bytes.count + 1, 24)) : rng.below(bytes.count + 1)
        return (Array(bytes.prefix(length)), "truncated to \(length) of \(input.count) bytes")
    case 3:
        let cutA = rng.below(bytes.count + 1), cutB = rng.below(other.count + 1)
        return (Array(bytes.prefix(cutA)) + other.suffix(from: cutB), "splice: \(cutA) bytes + other file from \(cutB)")
    case 4:
        let length = rng.chance(0.7) ? 1 + rng.below(16) : 1 + rng.below(4_096)
        let run = rng.chance(0.5) ? rng.bytes(length) : [UInt8](repeating: rng.pick([0, 0xFF, 0x1F, 0x8B]), count: length)
        bytes.insert(contentsOf: run, at: min(position, bytes.count))
        return (bytes, "inserted \(length) bytes at \(position)")
    case 5:
        let length = min(bytes.count - position, 1 + rng.below(rng.chance(0.7) ? 8 : 512))
        if length > 0 { bytes.removeSubrange(position..<(position + length)) }
        return (bytes, "deleted \(max(0, length)) bytes at \(position)")
    case 6:
        // A hostile 32-bit big-endian word in the header (magic, count, rows, columns).
        let word = rng.pick(hostileWords)
        let slot = 4 * rng.below(4)
        if bytes.count >= slot + 4 {
            for k in 0..<4 { bytes[slot + k] = UInt8(truncatingIfNeeded: word >> (8 * UInt32(3 - k))) }
        }
        return (bytes, "header word at \(slot) set to \(word)")
    default:
        let length = min(bytes.count - position, 1 + rng.below(64))
        guard length > 0 else { return (bytes, "nothing to repeat") }
        let chunk = Array(bytes[position..<(position + length)])
        bytes.insert(contentsOf: chunk, at: rng.below(bytes.count + 1))
        return (bytes, "repeated \(length) bytes from \(position)")
    }
}

/// A scratch folder in memory (/dev/shm) when there is one: thousands of rewrites of a file on
/// a disk mounted with `discard` take seconds each hundred; in tmpfs they are free.
private final class FuzzFolder {
    let path: String
    init() throws {
        let memory = "/dev/shm"
        let base = access(memory, W_OK) == 0 ? memory + "/" : NSTemporaryDirectory()
        path = base + "spherelab-data-fuzz-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }
}

/// Replaces a file's bytes in place: no temporary file, no fsync (FileManager.createFile does
/// both, and waits on the disk thousands of times per run).
private func overwrite(_ bytes: [UInt8], at path: String) throws {
    guard let stream = fopen(path, "wb") else { throw CocoaError(.fileWriteUnknown) }
    let written = bytes.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, stream) }
    guard fclose(stream) == 0, written == bytes.count else { throw CocoaError(.fileWriteUnknown) }
}

/// gzip in memory with zlib's deflate (a gzip wrapper: windowBits 15 + 16).
private func gzipBytes(_ input: [UInt8], level: Int32 = 6) -> [UInt8] {
    var stream = z_stream()
    guard deflateInit2_(&stream, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY, ZLIB_VERSION,
                        Int32(MemoryLayout<z_stream>.size)) == Z_OK else { return [] }
    defer { deflateEnd(&stream) }
    var output = [UInt8](repeating: 0, count: Int(deflateBound(&stream, UInt(input.count))) + 32)
    var source = input
    let produced: Int = source.withUnsafeMutableBufferPointer { inBuffer in
        output.withUnsafeMutableBufferPointer { outBuffer in
            stream.next_in = inBuffer.baseAddress
            stream.avail_in = UInt32(inBuffer.count)
            stream.next_out = outBuffer.baseAddress
            stream.avail_out = UInt32(outBuffer.count)
            let status = deflate(&stream, Z_FINISH)
            return status == Z_STREAM_END ? Int(stream.total_out) : -1
        }
    }
    return produced < 0 ? [] : Array(output.prefix(produced))
}

private struct FuzzFailureRecord {
    var count = 0
    var outcomes: [String: Int] = [:]
}

/// Runs every case of one format; `body` returns the outcome label or a failure message.
private func runCases(format: String, _ body: (inout Rand, Int) throws -> Result<String, DataFuzzFailure>) rethrows -> FuzzFailureRecord {
    var record = FuzzFailureRecord()
    let clock = ContinuousClock()
    let seed = Config.seed
    for index in Config.caseIndices {
        if Config.traces {
            try? "seed \(seed) case \(index)\n".write(toFile: traceFolder + "/spherelab-fuzz-current-\(format).txt",
                                                      atomically: false, encoding: .utf8)
        }
        var rng = Rand(seed: seed, index: index)
        let start = clock.now
        var result = try body(&rng, index)
        let seconds = (clock.now - start) / .seconds(1)
        if case .success = result, seconds > 2 { result = .failure(DataFuzzFailure("case took \(seconds) s (possible hang)", input: [])) }
        switch result {
        case .success(let outcome):
            record.outcomes[outcome, default: 0] += 1
        case .failure(let failure):
            record.count += 1
            let folder = NSTemporaryDirectory() + "spherelab-fuzz-failures"
            try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            let file = folder + "/\(format)-seed-\(seed)-case-\(index).bin"
            try? Data(failure.input).write(to: URL(fileURLWithPath: file))
            Issue.record("fuzz \(format): seed \(seed) case \(index): \(failure.message) (input saved to \(file))")
            if record.count >= 10 { return record }
        }
    }
    print("fuzz \(format): \(Config.caseIndices.count) cases, seed \(seed): "
          + record.outcomes.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: ", "))
    return record
}

private struct DataFuzzFailure: Error {
    var message: String
    var input: [UInt8]
    init(_ message: String, input: [UInt8]) {
        self.message = message
        self.input = input
    }
}

/// nil when a DataError is a proper one: the file named, every part said, sentences not dumps.
private func problem(with error: any Error, path: String) -> String? {
    guard let error = error as? DataError else { return "not a DataError: \(type(of: error)): \(error)" }
    guard error.file == path else { return "error names \(error.file), not \(path)" }
    guard !error.expected.isEmpty, !error.found.isEmpty, !error.remedy.isEmpty else { return "incomplete error: \(error)" }
    guard error.expected.count < 400, error.found.count < 400 else { return "overlong error: \(error.description.prefix(300))" }
    if let offset = error.offset, offset < 0 { return "negative offset in \(error)" }
    return nil
}

/// An outcome label: the first words of what was expected, so the summary groups errors by check.
private func label(_ error: any Error) -> String {
    guard let error = error as? DataError else { return "?" }
    var text = ""
    for character in error.expected {
        if character.isNumber {
            if !text.hasSuffix("N") { text.append("N") }
        } else {
            text.append(character)
        }
    }
    return text.split(separator: " ").prefix(4).joined(separator: " ")
}

@Suite("fuzz: dataset files")
struct DataFuzzTests {
    static let remedy = "Replace it with an intact copy."

    /// Mutated IDX content: either the header words or the bytes at large.
    fileprivate static func idxCase(_ rng: inout Rand, images: Bool) -> ([UInt8], String) {
        let valid = images ? idxImages(count: 1 + rng.below(3)) : idxLabels(cyclicLabels(1 + rng.below(30)))
        let other = rng.chance(0.5) ? idxImages(count: 2) : idxLabels(cyclicLabels(7))
        var bytes = valid
        var steps: [String] = []
        for _ in 0..<(1 + rng.below(3)) {
            let (next, what) = mutateBytes(bytes, other: other, rng: &rng)
            bytes = next
            steps.append(what)
        }
        return (bytes, steps.joined(separator: "; "))
    }

    /// Reads an IDX file and checks the outcome; `stored` is the file's size on disk.
    fileprivate static func checkIDX(path: String, images: Bool, stored: Int, gzip: Bool, how: String,
                                     input: [UInt8]) -> Result<String, DataFuzzFailure> {
        do {
            let content: Int
            if images {
                let read = try IDXFile.readImages(path: path, rows: 28, columns: 28, remedy: remedy)
                guard read.pixels.count == read.count * 28 * 28, read.rows == 28, read.columns == 28 else {
                    return .failure(DataFuzzFailure("\(how): \(read.count) images but \(read.pixels.count) pixels", input: input))
                }
                content = 16 + read.pixels.count
            } else {
                let labels = try IDXFile.readLabels(path: path, classes: 10, remedy: remedy)
                guard labels.allSatisfy({ $0 < 10 }) else { return .failure(DataFuzzFailure("\(how): label ≥ 10 accepted", input: input)) }
                content = 8 + labels.count
            }
            // What was loaded must be what the file holds: exactly its size when raw, within
            // deflate's ratio when compressed.
            if gzip ? content > stored * ContentReader.maximumDeflateRatio + (1 << 16) : content != stored {
                return .failure(DataFuzzFailure("\(how): \(content) content bytes from a \(stored)-byte file", input: input))
            }
            return .success("loaded")
        } catch {
            if let problem = problem(with: error, path: path) { return .failure(DataFuzzFailure("\(how): \(problem)", input: input)) }
            return .success(label(error))
        }
    }

    @Test("raw IDX image and label files: named error or exact load")
    func rawIDX() throws {
        let folder = try FuzzFolder()
        let path = folder.path + "/train-images-idx3-ubyte"
        let record = try runCases(format: "idx-raw") { rng, _ in
            let images = rng.chance(0.6)
            let (bytes, how) = Self.idxCase(&rng, images: images)
            try overwrite(bytes, at: path)
            return Self.checkIDX(path: path, images: images, stored: bytes.count, gzip: false, how: how, input: bytes)
        }
        #expect(record.count == 0)
    }

    @Test("gzip IDX files: damaged streams, truncations, bombs and lying headers end in named errors")
    func gzipIDX() throws {
        let folder = try FuzzFolder()
        let path = folder.path + "/train-images-idx3-ubyte.gz"
        let record = try runCases(format: "idx-gzip") { rng, _ in
            let images = rng.chance(0.6)
            var how: String
            var file: [UInt8]
            switch rng.below(10) {
            case 0..<4:
                // Damaged content, compressed intact.
                let (content, what) = Self.idxCase(&rng, images: images)
                file = gzipBytes(content, level: Int32(rng.below(10)))
                how = "gzip of (\(what))"
            case 4..<8:
                // Intact content, damaged stream (deflate data, CRC/length trailer, header).
                let content = images ? idxImages(count: 1 + rng.below(3)) : idxLabels(cyclicLabels(1 + rng.below(30)))
                let valid = gzipBytes(content)
                let other = rng.chance(0.5) ? gzipBytes(idxLabels(cyclicLabels(5))) : gzipBytes(idxImages(count: 1))
                var steps: [String] = []
                file = valid
                for _ in 0..<(1 + rng.below(2)) {
                    let (next, what) = mutateBytes(file, other: other, rng: &rng)
                    file = next
                    steps.append(what)
                }
                // Keep the gzip magic most of the time, so the stream reaches inflate.
                if rng.chance(0.8), file.count >= 2 { (file[0], file[1]) = (0x1F, 0x8B) }
                how = "damaged stream: " + steps.joined(separator: "; ")
            default:
                // Bombs and lying headers: a header claiming far more (or less) than the stream holds,
                // or a highly compressible body longer than the header says.
                let claimed = rng.pick([1, 2, 1_000, 60_000, 1_000_000, 0x7FFF_FFFF, 0xFFFF_FFFF] as [UInt32])
                let actual = rng.pick([0, 1, 2, 1_000, 5_000])
                let unit = images ? 784 : 1
                var content = images ? bigEndian(0x0000_0803) + bigEndian(claimed) + bigEndian(28) + bigEndian(28)
                    : bigEndian(0x0000_0801) + bigEndian(claimed)
                content += [UInt8](repeating: 0, count: actual * unit)
                file = gzipBytes(content, level: 9)
                if rng.chance(0.3) { file += gzipBytes([UInt8](repeating: 0, count: rng.pick([1, 784, 100_000]))) }
                if rng.chance(0.2) { file += rng.bytes(1 + rng.below(32)) }
                how = "header claims \(claimed), stream holds \(actual) (+ extras)"
            }
            try overwrite(file, at: path)
            return Self.checkIDX(path: path, images: images, stored: file.count, gzip: true, how: how, input: file)
        }
        #expect(record.count == 0)
    }

    @Test("a gzip bomb behind an honest-looking header is refused after inflating one byte past the header's size")
    func gzipBomb() throws {
        let folder = try FuzzFolder()
        let path = folder.path + "/train-labels-idx1-ubyte.gz"
        // 10 labels claimed; the stream inflates to 64 MiB (a ~64 KB file).
        var content = idxLabels(cyclicLabels(10))
        content += [UInt8](repeating: 0, count: 64 << 20)
        let bomb = gzipBytes(content, level: 9)
        try #require(bomb.count < 128 << 10)
        try overwrite(bomb, at: path)
        let clock = ContinuousClock()
        let start = clock.now
        let error = expectDataError { _ = try IDXFile.readLabels(path: path, classes: 10, remedy: Self.remedy) }
        #expect(clock.now - start < .seconds(2), "the rest of the stream must not be inflated")
        #expect(error?.offset == 18)
        #expect(error?.found.contains("more bytes") == true)
    }

    @Test("CIFAR-10 and CIFAR-100 binary files: named error or exact load")
    func cifar() throws {
        let folder = try FuzzFolder()
        let path = folder.path + "/data_batch_1.bin"
        let record = try runCases(format: "cifar") { rng, _ in
            let variant: CIFARFile.Variant = rng.chance(0.5) ? .cifar10 : .cifar100
            let records = 1 + rng.below(3)
            func file(_ count: Int, _ variant: CIFARFile.Variant) -> [UInt8] {
                var bytes: [UInt8] = []
                for r in 0..<count {
                    if variant == .cifar100 { bytes.append(UInt8(r % 20)) }
                    bytes.append(UInt8(r % 10))
                    bytes += [UInt8](repeating: UInt8(r), count: CIFARFile.imageBytes)
                }
                return bytes
            }
            var bytes = file(records, variant)
            let other = file(2, variant == .cifar10 ? .cifar100 : .cifar10)
            var steps: [String] = []
            for _ in 0..<(1 + rng.below(2)) {
                let (next, what) = mutateBytes(bytes, other: other, rng: &rng)
                bytes = next
                steps.append(what)
            }
            try overwrite(bytes, at: path)
            let how = steps.joined(separator: "; ")
            do {
                let read = try CIFARFile.read(path: path, variant: variant, records: records, remedy: Self.remedy)
                guard read.count == records, read.pixels.count == records * CIFARFile.imageBytes, read.labels.count == records,
                      read.labels.allSatisfy({ Int($0) < variant.classes }), bytes.count == records * variant.recordBytes
                else { return .failure(DataFuzzFailure("\(how): inconsistent load", input: bytes)) }
                return .success("loaded")
            } catch {
                if let problem = problem(with: error, path: path) { return .failure(DataFuzzFailure("\(how): \(problem)", input: bytes)) }
                return .success(label(error))
            }
        }
        #expect(record.count == 0)
    }
}
