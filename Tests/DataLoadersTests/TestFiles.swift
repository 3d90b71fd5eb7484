import CZlib
import Foundation
import Testing
@testable import DataLoaders

/// A fresh temporary folder, removed when the value goes away.
final class TemporaryFolder {
    let path: String

    init() throws {
        path = NSTemporaryDirectory() + "spherelab-data-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit {
        try? FileManager.default.removeItem(atPath: path)
    }

    /// Creates `relative` (and its parents) and returns its full path.
    func folder(_ relative: String) throws -> String {
        let full = path + "/" + relative
        try FileManager.default.createDirectory(atPath: full, withIntermediateDirectories: true)
        return full
    }
}

/// Writes `bytes` to `path` as a plain file.
func writeRaw(_ bytes: [UInt8], to path: String) throws {
    guard FileManager.default.createFile(atPath: path, contents: Data(bytes)) else {
        throw CocoaError(.fileWriteUnknown)
    }
}

/// Writes `bytes` to `path` gzip-compressed, with zlib's own gzip writer.
func writeGzip(_ bytes: [UInt8], to path: String) throws {
    guard let file = gzopen(path, "wb") else { throw CocoaError(.fileWriteUnknown) }
    let written = bytes.withUnsafeBytes { gzwrite(file, $0.baseAddress, UInt32($0.count)) }
    let closed = gzclose(file)
    guard written == Int32(bytes.count), closed == Z_OK else { throw CocoaError(.fileWriteUnknown) }
}

func bigEndian(_ value: UInt32) -> [UInt8] {
    [UInt8(value >> 24), UInt8(value >> 16 & 0xff), UInt8(value >> 8 & 0xff), UInt8(value & 0xff)]
}

/// An IDX image file: `count` images of rows×columns, pixel (i, y, x) = (i*31 + y*7 + x) mod 256.
func idxImages(count: Int, rows: Int = 28, columns: Int = 28, magic: UInt32 = 0x0000_0803) -> [UInt8] {
    var bytes = bigEndian(magic) + bigEndian(UInt32(count)) + bigEndian(UInt32(rows)) + bigEndian(UInt32(columns))
    for i in 0..<count {
        for y in 0..<rows {
            for x in 0..<columns { bytes.append(UInt8((i * 31 + y * 7 + x) % 256)) }
        }
    }
    return bytes
}

/// An IDX label file holding `labels`.
func idxLabels(_ labels: [UInt8], magic: UInt32 = 0x0000_0801) -> [UInt8] {
    bigEndian(magic) + bigEndian(UInt32(labels.count)) + labels
}

/// Labels 0, 1, …, 9, 0, 1, … for `count` examples.
func cyclicLabels(_ count: Int) -> [UInt8] {
    (0..<count).map { UInt8($0 % 10) }
}

/// The four MNIST-style files in `folder`: 12 training and 5 test examples.
/// `gzip` compresses them and adds the `.gz` suffix.
func writeIDXDataset(in folder: String, gzip: Bool = false, trainCount: Int = 12, testCount: Int = 5) throws {
    let files: [(String, [UInt8])] = [
        ("train-images-idx3-ubyte", idxImages(count: trainCount)),
        ("train-labels-idx1-ubyte", idxLabels(cyclicLabels(trainCount))),
        ("t10k-images-idx3-ubyte", idxImages(count: testCount)),
        ("t10k-labels-idx1-ubyte", idxLabels(cyclicLabels(testCount))),
    ]
    for (name, bytes) in files {
        if gzip { try writeGzip(bytes, to: folder + "/" + name + ".gz") } else { try writeRaw(bytes, to: folder + "/" + name) }
    }
}

/// Runs `body`, which must throw a `DataError`, and returns it.
func expectDataError(_ body: () throws -> Void, sourceLocation: SourceLocation = #_sourceLocation) -> DataError? {
    do {
        try body()
        Issue.record("expected a DataError, but nothing was thrown", sourceLocation: sourceLocation)
    } catch let error as DataError {
        return error
    } catch {
        Issue.record("expected a DataError, got \(error)", sourceLocation: sourceLocation)
    }
    return nil
}

/// A set whose example i has every pixel equal to i, label i mod `classes`.
func indexedSet(count: Int, channels: Int = 1, height: Int = 2, width: Int = 2, classes: Int = 10) throws -> ImageSet {
    let size = channels * height * width
    var pixels: [UInt8] = []
    for i in 0..<count { pixels += [UInt8](repeating: UInt8(i), count: size) }
    return try ImageSet(name: "indexed", count: count, channels: channels, height: height, width: width,
                        classes: classes, pixels: pixels, labels: (0..<count).map { UInt8($0 % classes) })
}
