import Foundation
import Testing
@testable import DataLoaders

/// Where Debian's `dataset-fashion-mnist` installs the four gzip files.
private let systemFashionMNIST = "/usr/share/datasets/fashion-mnist"

@Suite struct RealFashionMNISTTests {
    @Test(.enabled(if: FileManager.default.fileExists(atPath: systemFashionMNIST),
                   "\(systemFashionMNIST) is missing: install it with `apt-get install dataset-fashion-mnist`"))
    func systemFashionMNISTLoads() throws {
        // An empty Datasets folder, so the system copy is the one read.
        let temp = try TemporaryFolder()
        let pair = try DatasetLoader.load(.fashionMNIST, datasetsDirectory: temp.path)
        #expect(pair.kind == .fashionMNIST)
        #expect((pair.train.count, pair.test.count) == (60_000, 10_000))
        #expect((pair.train.channels, pair.train.height, pair.train.width, pair.train.classes) == (1, 28, 28, 10))
        #expect(pair.train.pixels.count == 60_000 * 784)
        var perClass = [Int](repeating: 0, count: 10)
        for label in pair.train.labels { perClass[Int(label)] += 1 }
        #expect(perClass == [Int](repeating: 6_000, count: 10))
        var testPerClass = [Int](repeating: 0, count: 10)
        for label in pair.test.labels { testPerClass[Int(label)] += 1 }
        #expect(testPerClass == [Int](repeating: 1_000, count: 10))
        // The published training-set mean intensity is 0.2860 (72.94 of 255).
        let sum = pair.train.pixels.withUnsafeBufferPointer { pixels in
            var total = 0
            for value in pixels { total += Int(value) }
            return total
        }
        #expect(abs(Double(sum) / Double(60_000 * 784) - 72.94) < 0.01)
        #expect(pair.train.fingerprint != pair.test.fingerprint)
    }
}
