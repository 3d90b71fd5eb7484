import Foundation
import Testing
@testable import DataLoaders
import Engine

@Suite struct BatchIteratorTests {
    /// 10 colour 4×4 images with varied pixels, so augmentation changes are visible.
    func colourSet() throws -> ImageSet {
        var generator = SeededGenerator(seed: 11)
        let pixels = (0..<(10 * 3 * 16)).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
        return try ImageSet(name: "colour", count: 10, channels: 3, height: 4, width: 4, classes: 10,
                            pixels: pixels, labels: (0..<10).map { UInt8(9 - $0) })
    }

    let cifarLike = Augmentation(horizontalFlip: true, padCrop: 2, mirrorPad: false)

    /// Runs `batches` batches and returns each batch's images and labels.
    func run(_ iterator: inout BatchIterator, batches: Int, size: Int) -> [([Float], [Int32])] {
        var batch = Batch(set: iterator.set, size: size)
        return (0..<batches).map { _ in
            #expect(batch.fill(&iterator, size: size) == size)
            return (batch.images, batch.labels)
        }
    }

    func same(_ a: [([Float], [Int32])], _ b: [([Float], [Int32])]) -> Bool {
        a.count == b.count && zip(a, b).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
    }

    @Test func sameSeedGivesSameBatchesOtherSeedDoesNot() throws {
        let set = try colourSet()
        var a = BatchIterator(set: set, seed: 5, augmentation: cifarLike)
        var b = BatchIterator(set: set, seed: 5, augmentation: cifarLike)
        var c = BatchIterator(set: set, seed: 6, augmentation: cifarLike)
        let batchesA = run(&a, batches: 8, size: 4)
        #expect(same(batchesA, run(&b, batches: 8, size: 4)))
        #expect(!same(batchesA, run(&c, batches: 8, size: 4)))
        #expect(a.position == b.position)
    }

    /// Batch size 3 over 10 examples: batches straddle epoch ends, yet each run of 10
    /// consecutive examples is a permutation, and `epoch` turns over right after the 10th.
    @Test func everyExampleExactlyOncePerEpoch() throws {
        let set = try indexedSet(count: 10)
        var iterator = BatchIterator(set: set, seed: 1, augmentation: .none)
        #expect(iterator.batchesPerEpoch(batchSize: 3) == 4)
        var batch = Batch(set: set, size: 3)
        var seen: [Int] = []
        for step in 1...10 {
            _ = batch.fill(&iterator, size: 3)
            for n in 0..<3 {
                // Channel 0, slot n, pixel (0, 0); every pixel of example i is byte i.
                let example = Int(batch.images[n * 4] * 128 + 127.5)
                #expect(batch.labels[n] == Int32(example % 10))
                seen.append(example)
            }
            #expect(iterator.epoch == step * 3 / 10)
            #expect(iterator.index == step * 3 % 10)
        }
        let epochs = (0..<3).map { Array(seen[($0 * 10)..<($0 * 10 + 10)]) }
        for order in epochs { #expect(order.sorted() == Array(0..<10)) }
        #expect(Set(epochs.map { $0.map(String.init).joined(separator: ",") }).count == 3)
    }

    @Test func permutationDependsOnlyOnSeedAndEpoch() {
        var a = Array(repeating: 0, count: 50)
        var b = (0..<50).reversed().map { $0 }
        BatchIterator.shuffle(&a, seed: 9, epoch: 4)
        BatchIterator.shuffle(&b, seed: 9, epoch: 4)
        #expect(a == b)
        #expect(a.sorted() == Array(0..<50))
        BatchIterator.shuffle(&b, seed: 9, epoch: 5)
        #expect(a != b)
    }

    /// Stop mid-epoch, carry the position through JSON into a differently seeded
    /// iterator, and continue: the batches equal those of an uninterrupted run.
    @Test(arguments: [2, 3, 5])
    func restoreContinuesExactly(batchesBeforeSaving: Int) throws {
        let set = try colourSet()
        var uninterrupted = BatchIterator(set: set, seed: 77, augmentation: cifarLike)
        _ = run(&uninterrupted, batches: batchesBeforeSaving, size: 4)
        let saved = try JSONEncoder().encode(uninterrupted.position)
        let expected = run(&uninterrupted, batches: 9, size: 4)

        var resumed = BatchIterator(set: set, seed: 1234, augmentation: cifarLike)
        _ = run(&resumed, batches: 1, size: 4)
        try resumed.restore(JSONDecoder().decode(BatchIterator.Position.self, from: saved))
        #expect(resumed.seed == 77)
        #expect(same(run(&resumed, batches: 9, size: 4), expected))
        #expect(resumed.position == uninterrupted.position)
    }

    @Test func restoreAtAnEpochBoundary() throws {
        let set = try colourSet()
        var uninterrupted = BatchIterator(set: set, seed: 3, augmentation: cifarLike)
        _ = run(&uninterrupted, batches: 2, size: 5)
        let position = uninterrupted.position
        #expect((position.epoch, position.index) == (1, 0))
        let expected = run(&uninterrupted, batches: 4, size: 5)
        var resumed = BatchIterator(set: set, seed: 3, augmentation: cifarLike)
        try resumed.restore(position)
        #expect(same(run(&resumed, batches: 4, size: 5), expected))
    }

    @Test(arguments: [
        BatchIterator.Position(seed: 1, epoch: 0, index: 10, rng: [1, 2, 3, 4]),
        BatchIterator.Position(seed: 1, epoch: 0, index: -1, rng: [1, 2, 3, 4]),
        BatchIterator.Position(seed: 1, epoch: -1, index: 0, rng: [1, 2, 3, 4]),
        BatchIterator.Position(seed: 1, epoch: 0, index: 0, rng: [0, 0, 0, 0]),
        BatchIterator.Position(seed: 1, epoch: 0, index: 0, rng: [1, 2]),
    ])
    func invalidPositionIsRefusedAndChangesNothing(position: BatchIterator.Position) throws {
        var iterator = BatchIterator(set: try colourSet(), seed: 8, augmentation: cifarLike)
        _ = run(&iterator, batches: 1, size: 3)
        let before = iterator.position
        let error = expectDataError { try iterator.restore(position) }
        #expect(error != nil)
        #expect(iterator.position == before)
    }

    /// The documented draw order: row shift, column shift, flip — replayed from the
    /// position's generator state, the writer must reproduce each augmented example.
    @Test func augmentationFollowsTheDocumentedDraws() throws {
        let set = try colourSet()
        let augmentation = Augmentation(horizontalFlip: true, padCrop: 1, mirrorPad: true)
        var iterator = BatchIterator(set: set, seed: 21, augmentation: augmentation)
        _ = run(&iterator, batches: 1, size: 3)
        let start = iterator.position
        var order = Array(0..<10)
        BatchIterator.shuffle(&order, seed: 21, epoch: start.epoch)
        let batch = run(&iterator, batches: 1, size: 4)[0]

        var replay = try SeededGenerator(state: start.rng)
        var expected = [Float](repeating: .nan, count: 4 * set.imageSize)
        let geometry = BatchGeometry(set: set, slots: 4)
        var sawFlip = false, sawShift = false
        for n in 0..<4 {
            let shiftY = replay.nextInt(below: 3) - 1
            let shiftX = replay.nextInt(below: 3) - 1
            let flip = replay.nextInt(below: 2) == 1
            sawFlip = sawFlip || flip
            sawShift = sawShift || shiftY != 0 || shiftX != 0
            let example = order[start.index + n]
            set.pixels.withUnsafeBufferPointer { source in
                expected.withUnsafeMutableBufferPointer { out in
                    geometry.write(source.baseAddress! + example * set.imageSize, into: out.baseAddress!, slot: n,
                                   shiftY: shiftY, shiftX: shiftX, flip: flip, mirrorPad: true)
                }
            }
            #expect(batch.1[n] == Int32(set.labels[example]))
        }
        #expect(batch.0 == expected)
        #expect(sawFlip && sawShift, "seed 21 should exercise both transforms; pick another seed if this changes")
        #expect(iterator.position.rng == replay.state)
    }

    /// Without augmentation the iterator draws nothing from its generator, and every
    /// output equals the untouched image.
    @Test func noAugmentationLeavesImagesAndGeneratorAlone() throws {
        let set = try colourSet()
        var iterator = BatchIterator(set: set, seed: 2, augmentation: .none)
        let rngBefore = iterator.position.rng
        let batch = run(&iterator, batches: 1, size: 10)[0]
        #expect(iterator.position.rng == rngBefore)
        var order = Array(0..<10)
        BatchIterator.shuffle(&order, seed: 2, epoch: 0)
        var expected = [Float](repeating: .nan, count: 10 * set.imageSize)
        var labels = [Int32](repeating: -1, count: 10)
        for (n, example) in order.enumerated() {
            for c in 0..<3 {
                for k in 0..<16 {
                    expected[(c * 10 + n) * 16 + k] = normalisedPixel(set.pixels[example * 48 + c * 16 + k])
                }
            }
            labels[n] = Int32(set.labels[example])
        }
        #expect(batch.0 == expected)
        #expect(batch.1 == labels)
    }
}
