import Foundation
import Testing
@testable import DataLoaders

/// CIFAR-10 / CIFAR-100 binary files.
@Suite struct CIFARLoadingTests {
    let noSystem = "/nonexistent-spherelab-system-datasets"

    /// One record: label byte(s), then 3072 pixels where pixel k = (seed + k) mod 251.
    func record(labels: [UInt8], seed: Int) -> [UInt8] {
        labels + (0..<3072).map { UInt8((seed + $0) % 251) }
    }

    @Test func readsCIFAR10Records() throws {
        let temp = try TemporaryFolder()
        let path = temp.path + "/batch.bin"
        try writeRaw(record(labels: [3], seed: 0) + record(labels: [9], seed: 100) + record(labels: [0], seed: 7), to: path)
        let records = try CIFARFile.read(path: path, variant: .cifar10, records: 3, remedy: "Fix it.")
        #expect(records.count == 3)
        #expect(records.labels == [3, 9, 0])
        #expect(records.pixels.count == 3 * 3072)
        // Record 1, channel 2 (blue), row 5, column 6 → pixel index 2*1024 + 5*32 + 6 in the record.
        let inRecord = 2 * 1024 + 5 * 32 + 6
        let expectedPixel = UInt8((100 + inRecord) % 251)
        #expect(records.pixels[3072 + inRecord] == expectedPixel)
        #expect(Array(records.pixels[6144...]) == Array(record(labels: [0], seed: 7).dropFirst()))
    }

    @Test func readsCIFAR100FineLabels() throws {
        let temp = try TemporaryFolder()
        let path = temp.path + "/train.bin"
        try writeRaw(record(labels: [19, 99], seed: 1) + record(labels: [0, 42], seed: 2), to: path)
        let records = try CIFARFile.read(path: path, variant: .cifar100, records: 2, remedy: "Fix it.")
        #expect(records.labels == [99, 42])
        #expect(Array(records.pixels[..<3072]) == Array(record(labels: [19, 99], seed: 1).dropFirst(2)))
    }

    @Test(arguments: [([UInt8(10)], CIFARFile.Variant.cifar10, "label 10"),
                      ([20, 5], .cifar100, "coarse label 20"),
                      ([5, 100], .cifar100, "fine label 100")])
    func labelOutOfRangeIsRefused(badLabels: [UInt8], variant: CIFARFile.Variant, mention: String) throws {
        let temp = try TemporaryFolder()
        let path = temp.path + "/data.bin"
        let good: [UInt8] = variant == .cifar10 ? [1] : [1, 1]
        try writeRaw(record(labels: good, seed: 0) + record(labels: badLabels, seed: 0), to: path)
        let error = expectDataError {
            _ = try CIFARFile.read(path: path, variant: variant, records: 2, remedy: "Fix it.")
        }
        #expect(error?.file == path)
        #expect(error?.offset == 3072 + good.count)
        #expect(error?.description.contains(mention) == true)
        #expect(error?.description.contains("record 1") == true)
    }

    /// One byte short, one byte extra, a record missing, a record extra.
    @Test(arguments: [-1, 1, -3073, 3073])
    func wrongFileSizeIsRefused(delta: Int) throws {
        let temp = try TemporaryFolder()
        let path = temp.path + "/test_batch.bin"
        let whole = record(labels: [1], seed: 0) + record(labels: [2], seed: 0) + record(labels: [3], seed: 0)
        try writeRaw(delta < 0 ? Array(whole.dropLast(-delta)) : whole + [UInt8](repeating: 0, count: delta), to: path)
        let error = expectDataError {
            _ = try CIFARFile.read(path: path, variant: .cifar10, records: 3, remedy: "Fix it.")
        }
        #expect(error?.file == path)
        #expect(error?.description.contains("\(3 * 3073) bytes (3 records of 3073 bytes)") == true)
        #expect(error?.description.contains(delta < 0 ? "truncated" : "trailing") == true)
        #expect(error?.description.hasSuffix("Fix it.") == true)
    }

    /// A zero-filled (sparse) file of `records` records — all labels 0, all pixels 0 —
    /// with record `marked` (if any) replaced by `mark`.
    func writeSparseCIFAR(_ path: String, records: Int, recordBytes: Int, marked: Int? = nil, mark: [UInt8] = []) throws {
        try writeRaw([], to: path)
        #expect(truncate(path, off_t(records * recordBytes)) == 0)
        if let marked {
            let handle = try FileHandle(forWritingAtPath: path).unwrapOrThrow()
            try handle.seek(toOffset: UInt64(marked * recordBytes))
            try handle.write(contentsOf: mark)
            try handle.close()
        }
    }

    /// The full loader on full-size files, inside the archive's own sub-folder. Files are
    /// sparse so the test costs reading time only.
    @Test func loadsCIFAR10FromArchiveSubfolder() throws {
        let temp = try TemporaryFolder()
        let folder = try temp.folder("cifar-10/cifar-10-batches-bin")
        for batch in 1...5 {
            try writeSparseCIFAR(folder + "/data_batch_\(batch).bin", records: 10_000, recordBytes: 3073,
                                 marked: batch == 3 ? 7 : nil, mark: record(labels: [6], seed: 9))
        }
        try writeSparseCIFAR(folder + "/test_batch.bin", records: 10_000, recordBytes: 3073,
                             marked: 9_999, mark: record(labels: [4], seed: 5))
        let pair = try DatasetLoader.load(.cifar10, datasetsDirectory: temp.path, systemDirectory: noSystem)
        #expect((pair.train.count, pair.test.count) == (50_000, 10_000))
        #expect((pair.train.channels, pair.train.height, pair.train.width, pair.train.classes) == (3, 32, 32, 10))
        let marked = 2 * 10_000 + 7
        #expect(pair.train.labels[marked] == 6)
        #expect(Array(pair.train.pixels[(marked * 3072)..<((marked + 1) * 3072)]) == Array(record(labels: [6], seed: 9).dropFirst()))
        #expect(pair.train.labels.filter { $0 != 0 }.count == 1)
        #expect(pair.test.labels[9_999] == 4)

        try FileManager.default.removeItem(atPath: folder + "/data_batch_4.bin")
        let error = expectDataError {
            _ = try DatasetLoader.load(.cifar10, datasetsDirectory: temp.path, systemDirectory: noSystem)
        }
        #expect(error?.file == folder + "/data_batch_4.bin")
        #expect(error?.description.contains("cifar-10-binary") == true)
    }

    @Test func loadsCIFAR100AndRefusesShortTrainFile() throws {
        let temp = try TemporaryFolder()
        let folder = try temp.folder("cifar-100")
        try writeSparseCIFAR(folder + "/train.bin", records: 50_000, recordBytes: 3074,
                             marked: 49_999, mark: record(labels: [13, 77], seed: 3))
        try writeSparseCIFAR(folder + "/test.bin", records: 10_000, recordBytes: 3074)
        let pair = try DatasetLoader.load(.cifar100, datasetsDirectory: temp.path, systemDirectory: noSystem)
        #expect((pair.train.count, pair.test.count, pair.train.classes) == (50_000, 10_000, 100))
        #expect(pair.train.labels[49_999] == 77)
        #expect(pair.train.name == "cifar-100/train")

        #expect(truncate(folder + "/test.bin", off_t(9_999 * 3074)) == 0)
        let error = expectDataError {
            _ = try DatasetLoader.load(.cifar100, datasetsDirectory: temp.path, systemDirectory: noSystem)
        }
        #expect(error?.file == folder + "/test.bin")
        #expect(error?.description.contains("truncated") == true)
    }
}

extension Optional {
    func unwrapOrThrow() throws -> Wrapped {
        guard let value = self else { throw CocoaError(.fileNoSuchFile) }
        return value
    }
}
