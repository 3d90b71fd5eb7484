import Foundation
import Testing
@testable import DataLoaders

/// A reusable batch buffer pair for tests.
struct Batch {
    var images: [Float]
    var labels: [Int32]

    init(set: ImageSet, size: Int) {
        images = [Float](repeating: .nan, count: size * set.imageSize)
        labels = [Int32](repeating: -1, count: size)
    }

    mutating func fill(_ iterator: inout BatchIterator, size: Int) -> Int {
        images.withUnsafeMutableBufferPointer { imageBuffer in
            labels.withUnsafeMutableBufferPointer { labelBuffer in
                iterator.next(batchSize: size, images: imageBuffer, labels: labelBuffer)
            }
        }
        return size   // batches are always full
    }
}

@Suite struct NormalisationAndLayoutTests {
    @Test func normalisationIsExact() {
        #expect(normalisedPixel(0) == -0.99609375)
        #expect(normalisedPixel(255) == 0.99609375)
        #expect(normalisedPixel(127) == -0.00390625)
        #expect(normalisedPixel(128) == 0.00390625)
        for value in 0...255 {
            #expect(normalisedPixel(UInt8(value)) == Float((Double(value) - 127.5) / 128))
        }
    }

    /// 3 examples of 2 channels × 1 × 2, byte (i, c, x) = 100i + 10c + x. Layout must be
    /// (C, N, H, W): element (c, n, 0, x) at (c*N + n)*2 + x.
    @Test func sequentialBatchIsChannelMajor() throws {
        var pixels: [UInt8] = []
        for i in 0..<3 {
            for c in 0..<2 {
                for x in 0..<2 { pixels.append(UInt8(100 * i + 10 * c + x)) }
            }
        }
        let set = try ImageSet(name: "t", count: 3, channels: 2, height: 1, width: 2, classes: 3, pixels: pixels, labels: [2, 0, 1])
        var images = [Float](repeating: .nan, count: 2 * 2 * 2)
        var labels = [Int32](repeating: -1, count: 2)
        images.withUnsafeMutableBufferPointer { imageBuffer in
            labels.withUnsafeMutableBufferPointer { labelBuffer in
                fillSequentialBatch(from: set, start: 1, count: 2, images: imageBuffer, labels: labelBuffer)
            }
        }
        let expectedBytes: [UInt8] = [100, 101, 200, 201,   // channel 0: example 1, example 2
                                      110, 111, 210, 211]   // channel 1: example 1, example 2
        #expect(images == expectedBytes.map(normalisedPixel))
        #expect(labels == [0, 1])
    }

    @Test func shortBatchIntoWiderBufferLeavesSpareSlotsAlone() throws {
        let set = try indexedSet(count: 5, channels: 2, height: 1, width: 1)
        var images = [Float](repeating: 7, count: 2 * 4)
        var labels = [Int32](repeating: -1, count: 4)
        images.withUnsafeMutableBufferPointer { imageBuffer in
            labels.withUnsafeMutableBufferPointer { labelBuffer in
                fillSequentialBatch(from: set, start: 3, count: 2, slots: 4, images: imageBuffer, labels: labelBuffer)
            }
        }
        let three = normalisedPixel(3), four = normalisedPixel(4)
        #expect(images == [three, four, 7, 7, three, four, 7, 7])
        #expect(labels == [3, 4, -1, -1])
    }
}

@Suite struct AugmentationPixelTests {
    /// A 1-channel 3×4 image with bytes 10·y + x + 1 (all distinct, none zero).
    let image: [UInt8] = [1, 2, 3, 4,
                          11, 12, 13, 14,
                          21, 22, 23, 24]

    /// Runs the writer on the hand-made image and returns the bytes each output pixel
    /// came from (0 for padding, via the exact normalisation inverse).
    func transformed(shiftY: Int, shiftX: Int, flip: Bool, mirrorPad: Bool) -> [[Int]] {
        let geometry = BatchGeometry(channels: 1, height: 3, width: 4, slots: 1)
        var output = [Float](repeating: .nan, count: 12)
        image.withUnsafeBufferPointer { source in
            output.withUnsafeMutableBufferPointer { out in
                geometry.write(source.baseAddress!, into: out.baseAddress!, slot: 0,
                               shiftY: shiftY, shiftX: shiftX, flip: flip, mirrorPad: mirrorPad)
            }
        }
        let bytes = output.map { Int($0 * 128 + 127.5) }
        return (0..<3).map { y in Array(bytes[(y * 4)..<(y * 4 + 4)]) }
    }

    @Test func identity() {
        #expect(transformed(shiftY: 0, shiftX: 0, flip: false, mirrorPad: false)
                == [[1, 2, 3, 4], [11, 12, 13, 14], [21, 22, 23, 24]])
    }

    @Test func flipMirrorsEachRow() {
        #expect(transformed(shiftY: 0, shiftX: 0, flip: true, mirrorPad: false)
                == [[4, 3, 2, 1], [14, 13, 12, 11], [24, 23, 22, 21]])
    }

    /// Crop window moved down 1 and left 2: output (y, x) = source (y+1, x−2), black outside.
    @Test func padCropWithZeros() {
        #expect(transformed(shiftY: 1, shiftX: -2, flip: false, mirrorPad: false)
                == [[0, 0, 11, 12], [0, 0, 21, 22], [0, 0, 0, 0]])
    }

    /// Crop first, then flip: the flipped version of the padCropWithZeros output.
    @Test func padCropThenFlip() {
        #expect(transformed(shiftY: 1, shiftX: -2, flip: true, mirrorPad: false)
                == [[12, 11, 0, 0], [22, 21, 0, 0], [0, 0, 0, 0]])
    }

    /// Reflection without repeating the edge: column −1 reads column 1, row 3 reads row 1.
    @Test func padCropWithMirror() {
        #expect(transformed(shiftY: 1, shiftX: -1, flip: false, mirrorPad: true)
                == [[12, 11, 12, 13], [22, 21, 22, 23], [12, 11, 12, 13]])
        #expect(transformed(shiftY: -1, shiftX: 2, flip: false, mirrorPad: true)
                == [[13, 14, 13, 12], [3, 4, 3, 2], [13, 14, 13, 12]])
    }

    @Test func reflectFoldsAnyDistance() {
        #expect((-6...9).map { reflect($0, size: 4) } == [0, 1, 2, 3, 2, 1, 0, 1, 2, 3, 2, 1, 0, 1, 2, 3])
        #expect(reflect(-5, size: 1) == 0)
    }

    @Test func defaultsPerDataset() throws {
        #expect(Augmentation.defaults(for: .fashionMNIST) == .none)
        #expect(Augmentation.defaults(for: .mnist) == .none)
        #expect(Augmentation.defaults(for: .cifar10) == Augmentation(horizontalFlip: true, padCrop: 4, mirrorPad: false))
        #expect(Augmentation.defaults(for: .cifar100).padCrop == 4)
        let json = try JSONEncoder().encode(Augmentation.defaults(for: .cifar10))
        #expect(try JSONDecoder().decode(Augmentation.self, from: json) == .defaults(for: .cifar10))
        let bad = Data(#"{"horizontalFlip":true,"padCrop":-1,"mirrorPad":false}"#.utf8)
        #expect(throws: DecodingError.self) { _ = try JSONDecoder().decode(Augmentation.self, from: bad) }
    }
}
