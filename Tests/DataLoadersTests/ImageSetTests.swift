import Testing
@testable import DataLoaders

@Suite struct ImageSetTests {
    /// Published FNV-1a 64 test vectors.
    @Test func fnv1aKnownAnswers() {
        func digest(_ text: String) -> String {
            var hash = FNV1a64()
            Array(text.utf8).withUnsafeBytes { hash.add($0) }
            return hash.hexDigest
        }
        #expect(digest("") == "cbf29ce484222325")
        #expect(digest("a") == "af63dc4c8601ec8c")
        #expect(digest("foobar") == "85944171f73967e8")
    }

    @Test func fingerprintCoversDataNotName() throws {
        let pixels = (0..<24).map { UInt8($0) }
        let a = try ImageSet(name: "a", count: 2, channels: 3, height: 2, width: 2, classes: 4, pixels: pixels, labels: [1, 3])
        let b = try ImageSet(name: "b", count: 2, channels: 3, height: 2, width: 2, classes: 4, pixels: pixels, labels: [1, 3])
        var changed = pixels
        changed[23] = 0
        let c = try ImageSet(name: "a", count: 2, channels: 3, height: 2, width: 2, classes: 4, pixels: changed, labels: [1, 3])
        let d = try ImageSet(name: "a", count: 2, channels: 3, height: 2, width: 2, classes: 4, pixels: pixels, labels: [1, 2])
        let e = try ImageSet(name: "a", count: 2, channels: 3, height: 4, width: 1, classes: 4, pixels: pixels, labels: [1, 3])
        #expect(a.fingerprint == b.fingerprint)
        #expect(Set([a.fingerprint, c.fingerprint, d.fingerprint, e.fingerprint]).count == 4)
        #expect(a.imageSize == 12)
    }

    @Test func validSetKeepsItsFields() throws {
        let set = try ImageSet(name: "tiny", count: 1, channels: 1, height: 1, width: 2, classes: 3, pixels: [5, 6], labels: [2])
        #expect((set.name, set.count, set.channels, set.height, set.width, set.classes) == ("tiny", 1, 1, 1, 2, 3))
        #expect(set.pixels == [5, 6])
        #expect(set.labels == [2])
    }

    @Test(arguments: [
        (0, 1, [UInt8](), [UInt8](), "at least 1 example"),
        (1, 0, [0], [0], "between 1 and 256 classes"),
        (2, 3, [0, 0, 0], [0, 0], "4 pixel bytes"),
        (2, 3, [0, 0, 0, 0], [0], "2 labels"),
        (2, 3, [0, 0, 0, 0], [0, 3], "label 3 at example 1"),
    ])
    func invalidSetIsRefused(count: Int, classes: Int, pixels: [UInt8], labels: [UInt8], mention: String) {
        let error = expectDataError {
            _ = try ImageSet(name: "bad", count: count, channels: 1, height: 1, width: 2, classes: classes,
                             pixels: pixels, labels: labels)
        }
        #expect(error?.file == "image set 'bad'")
        #expect(error?.description.contains(mention) == true)
    }

    @Test func overflowingDimensionsAreRefused() {
        let error = expectDataError {
            _ = try ImageSet(name: "huge", count: Int.max / 2, channels: 3, height: 32, width: 32, classes: 10,
                             pixels: [], labels: [])
        }
        #expect(error?.description.contains("overflows") == true)
    }

    @Test func kindsDescribeTheirGeometry() {
        #expect(DatasetKind.fashionMNIST.rawValue == "fashion-mnist")
        #expect(DatasetKind.allCases.map(\.rawValue) == ["mnist", "fashion-mnist", "cifar-10", "cifar-100"])
        #expect((DatasetKind.mnist.channels, DatasetKind.mnist.height, DatasetKind.mnist.classes) == (1, 28, 10))
        #expect((DatasetKind.cifar100.channels, DatasetKind.cifar100.width, DatasetKind.cifar100.classes) == (3, 32, 100))
        #expect((DatasetKind.cifar10.trainCount, DatasetKind.fashionMNIST.trainCount, DatasetKind.mnist.testCount) == (50_000, 60_000, 10_000))
    }

    @Test func dataErrorDescriptionSaysWhereWhatAndWhatToDo() {
        let error = DataError(file: "/d/x.bin", offset: 12, expected: "A", found: "B", remedy: "Do C.")
        #expect(error.description == "/d/x.bin (byte 12): expected A, found B. Do C.")
        #expect(DataError(file: "f", expected: "A", found: "B", remedy: "R").description == "f: expected A, found B. R")
    }
}
