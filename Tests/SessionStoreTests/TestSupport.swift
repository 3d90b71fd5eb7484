import Foundation
import Testing
@testable import SessionStore

/// Runs `body` and records an issue unless it throws a SessionStoreError of exactly `kind`.
/// Returns the error so that callers can check where it points.
@discardableResult
func expectStoreError<T>(_ kind: SessionStoreError.Kind, sourceLocation: SourceLocation = #_sourceLocation,
                         _ body: () throws -> T) -> SessionStoreError? {
    do {
        _ = try body()
        Issue.record("expected SessionStoreError.\(kind) but the call succeeded", sourceLocation: sourceLocation)
    } catch let error as SessionStoreError {
        #expect(error.kind == kind, "expected .\(kind), got: \(error)", sourceLocation: sourceLocation)
        return error
    } catch {
        Issue.record("expected SessionStoreError.\(kind), got \(type(of: error)): \(error)", sourceLocation: sourceLocation)
    }
    return nil
}

/// A fresh folder under the system temporary folder, removed by `cleanUp()`.
struct ScratchFolder {
    let path: String

    /// `inMemory` puts the folder in /dev/shm when there is one (the fuzz tests rewrite files
    /// thousands of times, which a disk mounted with `discard` makes slow).
    init(inMemory: Bool = false) throws {
        let base = inMemory && access("/dev/shm", W_OK) == 0 ? "/dev/shm" : NSTemporaryDirectory()
        var template = Array(URL(fileURLWithPath: base).appendingPathComponent("sessionstore-test-XXXXXX").path.utf8CString)
        let created = template.withUnsafeMutableBufferPointer { $0.baseAddress.flatMap(mkdtemp) != nil }
        guard created else {
            throw SessionStoreError(.ioFailed, "mkdtemp failed", hint: "check the temporary folder")
        }
        path = String(decoding: template.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    func cleanUp() { try? FileManager.default.removeItem(atPath: path) }

    func write(_ bytes: [UInt8], to relative: String) throws {
        let url = URL(fileURLWithPath: path + "/" + relative)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(bytes).write(to: url)
    }

    func entries(_ relative: String = "") -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: path + "/" + relative)) ?? []).sorted()
    }
}

/// Builds a safetensors file byte by byte: the 8-byte little-endian length written out one
/// byte at a time, then the header text exactly as given (no padding), then the data bytes.
func handMadeFile(header: String, data: [UInt8]) -> [UInt8] {
    let headerBytes = Array(header.utf8)
    var length = UInt64(headerBytes.count)
    var file: [UInt8] = []
    for _ in 0..<8 {
        file.append(UInt8(length & 0xFF))
        length >>= 8
    }
    return file + headerBytes + data
}

/// A session.json in the generic SphereLab form.
func sessionJSON(version: Int = 1, format: String = "spherelab-session", summary: String? = nil,
                 extra: String = "") -> [UInt8] {
    var fields = ["\"format\": \"\(format)\"", "\"version\": \(version)"]
    if let summary { fields.append("\"summary\": \(summary)") }
    if !extra.isEmpty { fields.append(extra) }
    return Array("{\(fields.joined(separator: ", "))}".utf8)
}

/// A small model-like set of tensors: conv weights, BatchNorm buffers with the int64 counter.
func sampleWeights(scale: Float = 1) -> [NamedTensor] {
    [
        NamedTensor(name: "features.0.weight", shape: [2, 1, 3, 3], floats: (0..<18).map { Float($0) * 0.25 * scale - 1 }),
        NamedTensor(name: "features.1.running_mean", shape: [2], floats: [0.5 * scale, -0.5]),
        NamedTensor(name: "features.1.num_batches_tracked", shape: [], integers: [Int64(scale * 100)]),
        NamedTensor(name: "classifier.bias", shape: [3], floats: [1, 2, 3]),
    ]
}

func sampleContents(scale: Float = 1, summary: String? = nil) -> SnapshotContents {
    SnapshotContents(
        weights: sampleWeights(scale: scale),
        optimizer: [NamedTensor(name: "features.0.weight", shape: [2, 1, 3, 3], floats: [Float](repeating: scale, count: 18))],
        sessionJSON: sessionJSON(summary: summary, extra: "\"scale\": \(scale)"),
        metadata: ["format": "pt", "scale": "\(scale)"])
}

/// Tensors compared as sets (files store them in name order, not input order).
func sortedByName(_ tensors: [NamedTensor]) -> [NamedTensor] {
    tensors.sorted { $0.name.utf8.lexicographicallyPrecedes($1.name.utf8) }
}
