import Foundation
import Testing
@testable import DataLoaders

/// IDX (MNIST / Fashion-MNIST) reading through `DatasetLoader`, raw and gzip.
@Suite struct IDXLoadingTests {
    /// A system folder that never exists, so only the temporary folder is searched.
    let noSystem = "/nonexistent-spherelab-system-datasets"

    @Test(arguments: [false, true])
    func parsesTinyDataset(gzip: Bool) throws {
        let temp = try TemporaryFolder()
        try writeIDXDataset(in: try temp.folder("mnist"), gzip: gzip)
        let pair = try DatasetLoader.load(.mnist, datasetsDirectory: temp.path, systemDirectory: noSystem)
        #expect(pair.kind == .mnist)
        #expect(pair.train.name == "mnist/train")
        #expect(pair.test.name == "mnist/test")
        #expect((pair.train.count, pair.test.count) == (12, 5))
        #expect((pair.train.channels, pair.train.height, pair.train.width, pair.train.classes) == (1, 28, 28, 10))
        #expect(pair.train.pixels == Array(idxImages(count: 12).dropFirst(16)))
        #expect(pair.train.labels == cyclicLabels(12))
        #expect(pair.test.labels == cyclicLabels(5))
        // Pixel (i=3, y=2, x=5) = (93 + 14 + 5) mod 256.
        #expect(pair.train.pixels[3 * 784 + 2 * 28 + 5] == 112)
    }

    @Test func rawAndGzipGiveTheSameFingerprint() throws {
        let temp = try TemporaryFolder()
        try writeIDXDataset(in: try temp.folder("raw/mnist"))
        try writeIDXDataset(in: try temp.folder("gz/mnist"), gzip: true)
        let raw = try DatasetLoader.load(.mnist, datasetsDirectory: temp.path + "/raw", systemDirectory: noSystem)
        let gz = try DatasetLoader.load(.mnist, datasetsDirectory: temp.path + "/gz", systemDirectory: noSystem)
        #expect(raw.train.fingerprint == gz.train.fingerprint)
        #expect(raw.test.fingerprint == gz.test.fingerprint)
        #expect(raw.train.fingerprint != raw.test.fingerprint)
        #expect(raw.train.fingerprint.count == 16)
    }

    @Test func gzipIsDetectedByContentNotName() throws {
        let temp = try TemporaryFolder()
        let folder = try temp.folder("fashion-mnist")
        try writeIDXDataset(in: folder)
        // A gzip file without the suffix, and a raw file with it.
        try FileManager.default.removeItem(atPath: folder + "/train-images-idx3-ubyte")
        try writeGzip(idxImages(count: 12), to: folder + "/train-images-idx3-ubyte")
        try FileManager.default.removeItem(atPath: folder + "/t10k-labels-idx1-ubyte")
        try writeRaw(idxLabels(cyclicLabels(5)), to: folder + "/t10k-labels-idx1-ubyte.gz")
        let pair = try DatasetLoader.load(.fashionMNIST, datasetsDirectory: temp.path, systemDirectory: noSystem)
        #expect(pair.train.pixels == Array(idxImages(count: 12).dropFirst(16)))
        #expect(pair.test.labels == cyclicLabels(5))
    }

    @Test func searchesDatasetsFolderFirstThenSystemFolder() throws {
        let temp = try TemporaryFolder()
        try writeIDXDataset(in: try temp.folder("local/mnist"), trainCount: 11)
        try writeIDXDataset(in: try temp.folder("system/mnist"), trainCount: 13)
        let local = try DatasetLoader.load(.mnist, datasetsDirectory: temp.path + "/local", systemDirectory: temp.path + "/system")
        #expect(local.train.count == 11)
        let system = try DatasetLoader.load(.mnist, datasetsDirectory: temp.path + "/empty", systemDirectory: temp.path + "/system")
        #expect(system.train.count == 13)
        #expect(DatasetLoader.searchFolders(for: .mnist, datasetsDirectory: "D", systemDirectory: "/S")
                == ["D/mnist", "/S/mnist"])
        #expect(DatasetLoader.searchFolders(for: .cifar100, datasetsDirectory: "D", systemDirectory: "/S")
                == ["D/cifar-100", "D/cifar-100/cifar-100-binary", "/S/cifar-100", "/S/cifar-100/cifar-100-binary"])
    }

    @Test func noFilesAnywhereSaysWhereItLookedAndWhatToInstall() throws {
        let temp = try TemporaryFolder()
        let error = expectDataError {
            _ = try DatasetLoader.load(.fashionMNIST, datasetsDirectory: temp.path, systemDirectory: noSystem)
        }
        #expect(error?.description.contains(temp.path + "/fashion-mnist") == true)
        #expect(error?.description.contains(noSystem + "/fashion-mnist") == true)
        #expect(error?.description.contains("apt-get install dataset-fashion-mnist") == true)
    }

    @Test(arguments: ["train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"])
    func missingFileIsNamed(_ name: String) throws {
        let temp = try TemporaryFolder()
        let folder = try temp.folder("fashion-mnist")
        try writeIDXDataset(in: folder)
        try FileManager.default.removeItem(atPath: folder + "/" + name)
        let error = expectDataError {
            _ = try DatasetLoader.load(.fashionMNIST, datasetsDirectory: temp.path, systemDirectory: noSystem)
        }
        #expect(error?.file == folder + "/" + name)
        #expect(error?.description.contains("\(name).gz") == true)
        #expect(error?.description.contains("dataset-fashion-mnist") == true)
    }

    @Test func labelMagicInImageFileIsRefused() throws {
        let temp = try TemporaryFolder()
        let folder = try temp.folder("mnist")
        try writeIDXDataset(in: folder)
        try writeRaw(idxImages(count: 12, magic: 0x0000_0801), to: folder + "/train-images-idx3-ubyte")
        let error = expectDataError {
            _ = try DatasetLoader.load(.mnist, datasetsDirectory: temp.path, systemDirectory: noSystem)
        }
        #expect(error?.file == folder + "/train-images-idx3-ubyte")
        #expect(error?.offset == 0)
        #expect(error?.description.contains("0x00000803") == true)
        #expect(error?.description.contains("swapped") == true)
    }

    @Test(arguments: [UInt32(0x0000_0D03), 0x1234_5678, 0x0000_0802])
    func foreignMagicInLabelFileIsRefused(magic: UInt32) throws {
        let temp = try TemporaryFolder()
        let folder = try temp.folder("mnist")
        try writeIDXDataset(in: folder, gzip: true)
        try writeGzip(idxLabels(cyclicLabels(5), magic: magic), to: folder + "/t10k-labels-idx1-ubyte.gz")
        let error = expectDataError {
            _ = try DatasetLoader.load(.mnist, datasetsDirectory: temp.path, systemDirectory: noSystem)
        }
        #expect(error?.file == folder + "/t10k-labels-idx1-ubyte.gz")
        #expect(error?.description.contains("0x00000801") == true)
    }

    @Test func wrongImageSizeIsRefused() throws {
        let temp = try TemporaryFolder()
        let folder = try temp.folder("fashion-mnist")
        try writeIDXDataset(in: folder)
        try writeRaw(idxImages(count: 5, rows: 32, columns: 28), to: folder + "/t10k-images-idx3-ubyte")
        let error = expectDataError {
            _ = try DatasetLoader.load(.fashionMNIST, datasetsDirectory: temp.path, systemDirectory: noSystem)
        }
        #expect(error?.file == folder + "/t10k-images-idx3-ubyte")
        #expect(error?.description.contains("28×28") == true)
        #expect(error?.description.contains("32×28") == true)
    }

    /// Cuts the images file at a header offset, a data offset and one byte short.
    @Test(arguments: [0, 3, 9, 16, 17, 500, 16 + 12 * 784 - 1])
    func truncatedRawFileIsRefused(length: Int) throws {
        let temp = try TemporaryFolder()
        let folder = try temp.folder("mnist")
        try writeIDXDataset(in: folder)
        try writeRaw(Array(idxImages(count: 12).prefix(length)), to: folder + "/train-images-idx3-ubyte")
        let error = expectDataError {
            _ = try DatasetLoader.load(.mnist, datasetsDirectory: temp.path, systemDirectory: noSystem)
        }
        #expect(error?.file == folder + "/train-images-idx3-ubyte")
        #expect(error?.description.contains("truncated") == true)
    }

    /// Valid gzip streams whose decompressed content is cut short.
    @Test(arguments: [0, 2, 7, 8, 8 + 11])
    func gzipWithShortContentIsRefused(length: Int) throws {
        let temp = try TemporaryFolder()
        let folder = try temp.folder("mnist")
        try writeIDXDataset(in: folder, gzip: true)
        try writeGzip(Array(idxLabels(cyclicLabels(12)).prefix(length)), to: folder + "/train-labels-idx1-ubyte.gz")
        let error = expectDataError {
            _ = try DatasetLoader.load(.mnist, datasetsDirectory: temp.path, systemDirectory: noSystem)
        }
        #expect(error?.file == folder + "/train-labels-idx1-ubyte.gz")
        #expect(error?.description.contains("truncated") == true)
    }

    /// The compressed bytes themselves cut off: inside the gzip header, the deflate data
    /// and the trailer.
    @Test(arguments: [3, 12, 40, 200, -4, -1])
    func cutGzipFileIsRefused(cut: Int) throws {
        let temp = try TemporaryFolder()
        let folder = try temp.folder("mnist")
        try writeIDXDataset(in: folder, gzip: true)
        let path = folder + "/train-images-idx3-ubyte.gz"
        let whole = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        let length = cut >= 0 ? cut : whole.count + cut
        try #require(length < whole.count)
        try writeRaw(Array(whole.prefix(length)), to: path)
        let error = expectDataError {
            _ = try DatasetLoader.load(.mnist, datasetsDirectory: temp.path, systemDirectory: noSystem)
        }
        #expect(error?.file == path)
        #expect(error?.description.contains("unexpected end of file); the file is damaged or cut short") == true)
    }

    /// A flipped bit inside the deflate data, and one in the CRC trailer.
    @Test(arguments: [30, -6])
    func corruptGzipFileIsRefused(position: Int) throws {
        let temp = try TemporaryFolder()
        let folder = try temp.folder("mnist")
        try writeIDXDataset(in: folder, gzip: true)
        let path = folder + "/train-images-idx3-ubyte.gz"
        var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        bytes[position >= 0 ? position : bytes.count + position] ^= 0x10
        try writeRaw(bytes, to: path)
        let error = expectDataError {
            _ = try DatasetLoader.load(.mnist, datasetsDirectory: temp.path, systemDirectory: noSystem)
        }
        #expect(error?.file == path)
        #expect(error?.description.contains("zlib:") == true)
    }

    @Test(arguments: [false, true])
    func trailingDataIsRefused(gzip: Bool) throws {
        let temp = try TemporaryFolder()
        let folder = try temp.folder("mnist")
        try writeIDXDataset(in: folder, gzip: gzip)
        let bytes = idxImages(count: 5) + [0, 0, 0]
        let path = folder + "/t10k-images-idx3-ubyte" + (gzip ? ".gz" : "")
        if gzip { try writeGzip(bytes, to: path) } else { try writeRaw(bytes, to: path) }
        let error = expectDataError {
            _ = try DatasetLoader.load(.mnist, datasetsDirectory: temp.path, systemDirectory: noSystem)
        }
        #expect(error?.file == path)
        #expect(error?.description.contains(gzip ? "more bytes" : "trailing") == true)
    }

    @Test func imageAndLabelCountsMustMatch() throws {
        let temp = try TemporaryFolder()
        let folder = try temp.folder("mnist")
        try writeIDXDataset(in: folder)
        try writeRaw(idxLabels(cyclicLabels(11)), to: folder + "/train-labels-idx1-ubyte")
        let error = expectDataError {
            _ = try DatasetLoader.load(.mnist, datasetsDirectory: temp.path, systemDirectory: noSystem)
        }
        #expect(error?.file == folder + "/train-labels-idx1-ubyte")
        #expect(error?.description.contains("12 labels") == true)
        #expect(error?.description.contains("train-images-idx3-ubyte") == true)
    }

    @Test func labelOutOfRangeIsRefused() throws {
        let temp = try TemporaryFolder()
        let folder = try temp.folder("mnist")
        try writeIDXDataset(in: folder, gzip: true)
        var labels = cyclicLabels(12)
        labels[7] = 10
        try writeGzip(idxLabels(labels), to: folder + "/train-labels-idx1-ubyte.gz")
        let error = expectDataError {
            _ = try DatasetLoader.load(.mnist, datasetsDirectory: temp.path, systemDirectory: noSystem)
        }
        #expect(error?.file == folder + "/train-labels-idx1-ubyte.gz")
        #expect(error?.offset == 8 + 7)
        #expect(error?.description.contains("label 10 for example 7") == true)
    }

    /// A 40-byte gzip file whose header claims 10⁹ images must be refused from the header
    /// alone: the claim (784 GB) is checked before any buffer is sized from it.
    @Test func gzipHeaderClaimingBillionImagesIsRefusedBeforeAllocating() throws {
        let temp = try TemporaryFolder()
        let folder = try temp.folder("mnist")
        try writeIDXDataset(in: folder, gzip: true)
        let header = bigEndian(0x0000_0803) + bigEndian(1_000_000_000) + bigEndian(28) + bigEndian(28)
        let path = folder + "/train-images-idx3-ubyte.gz"
        try writeGzip(header + [UInt8](repeating: 0, count: 784), to: path)
        let error = expectDataError {
            _ = try DatasetLoader.load(.mnist, datasetsDirectory: temp.path, systemDirectory: noSystem)
        }
        #expect(error?.file == path)
        #expect(error?.description.contains("claims 1000000000 images") == true)
        #expect(error?.description.contains("at most \(ContentReader.maximumContentBytes) bytes") == true)
    }

    /// Under the absolute cap but far beyond what a small gzip file can inflate to.
    @Test func gzipHeaderClaimingMoreThanDeflateCanHoldIsRefused() throws {
        let temp = try TemporaryFolder()
        let folder = try temp.folder("mnist")
        try writeIDXDataset(in: folder, gzip: true)
        let header = bigEndian(0x0000_0803) + bigEndian(1_000_000) + bigEndian(28) + bigEndian(28)
        let path = folder + "/train-images-idx3-ubyte.gz"
        try writeGzip(header, to: path)
        let error = expectDataError {
            _ = try DatasetLoader.load(.mnist, datasetsDirectory: temp.path, systemDirectory: noSystem)
        }
        #expect(error?.file == path)
        #expect(error?.description.contains("gzip file can hold") == true)
    }

    @Test func rawHeaderClaimingBillionImagesIsRefused() throws {
        let temp = try TemporaryFolder()
        let folder = try temp.folder("mnist")
        try writeIDXDataset(in: folder)
        let path = folder + "/t10k-images-idx3-ubyte"
        try writeRaw(bigEndian(0x0000_0803) + bigEndian(1_000_000_000) + bigEndian(28) + bigEndian(28), to: path)
        let error = expectDataError {
            _ = try DatasetLoader.load(.mnist, datasetsDirectory: temp.path, systemDirectory: noSystem)
        }
        #expect(error?.file == path)
        #expect(error?.description.contains("claims 1000000000 images") == true)
    }

    @Test func directoryInPlaceOfFileIsRefused() throws {
        let temp = try TemporaryFolder()
        let folder = try temp.folder("mnist")
        let error = expectDataError {
            _ = try IDXFile.readImages(path: folder, rows: 28, columns: 28, remedy: "Fix it.")
        }
        #expect(error?.file == folder)
        #expect(error?.description.contains("a directory") == true)
    }
}
