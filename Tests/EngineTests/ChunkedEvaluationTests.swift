import Testing
import Foundation
@testable import Engine

/// Random test images (seeded), so different images really give different logits.
struct RandomExamples: ExampleSource, BatchSource {
    let format: ImageFormat
    let count: Int
    let pixels: [Float]
    private(set) var epoch = 0
    private var index = 0

    init(format: ImageFormat, count: Int, seed: UInt64) {
        self.format = format; self.count = count
        var rng = TestRandom(seed)
        pixels = (0..<(count * format.channels * format.height * format.width)).map { _ in rng.uniform(-1, 1) }
    }

    var position: DataPosition { DataPosition(seed: 0, epoch: epoch, index: index, rng: [1, 2, 3, 4]) }
    mutating func restore(_ p: DataPosition) throws { epoch = p.epoch; index = p.index }

    func fill(start: Int, count n: Int, images: UnsafeMutableBufferPointer<Float>, labels: UnsafeMutableBufferPointer<Int32>) {
        let plane = format.height * format.width, perImage = format.channels * plane
        for i in 0..<n {
            let e = start + i
            for c in 0..<format.channels {
                for p in 0..<plane { images[(c * n + i) * plane + p] = pixels[e * perImage + c * plane + p] }
            }
            labels[i] = Int32(e % format.classes)
        }
    }

    mutating func next(batchSize: Int, images: UnsafeMutableBufferPointer<Float>, labels: UnsafeMutableBufferPointer<Int32>) {
        let start = min(index, count - batchSize)
        fill(start: start, count: batchSize, images: images, labels: labels)
        index += batchSize
        if index + batchSize > count { index = 0; epoch += 1 }
    }
}

@Suite struct ChunkedEvaluationTests {
    static let format = ImageFormat(channels: 1, height: 12, width: 12, classes: 5)
    static let model = ModelSpec(architecture: .sphereNet, width: 0.0625, depthPerStage: 1, inputChannels: 1, inputHeight: 12,
                                 inputWidth: 12, classes: 5)

    static func trainer(_ variant: ConvVariant, batch: Int = 8, workspace: Workspace = Workspace()) throws -> Trainer {
        var hyper = Hyperparameters()
        hyper.batchSize = batch
        hyper.variant = variant
        return try Trainer(model: model, seed: 5, hyper: hyper, training: RandomExamples(format: format, count: 64, seed: 1),
                           test: RandomExamples(format: format, count: 37, seed: 2), workspace: workspace)
    }

    @Test func equalChunksCoverEverythingWithSizesWithinOne() {
        for (total, most) in [(10_000, 128), (37, 8), (8, 8), (1, 8), (9, 8), (1025, 128), (0, 5)] {
            let c = Trainer.equalChunks(total: total, atMost: most)
            let sizes = (0..<c.count).map(c.size)
            #expect(sizes.reduce(0, +) == total)
            #expect(sizes.allSatisfy { $0 <= most })
            #expect(c.count == (total + most - 1) / most)
            if let lo = sizes.min(), let hi = sizes.max() { #expect(hi - lo <= 1) }
        }
        // 10 000 test images at batch 128: 79 chunks of 126 or 127, never a stray small batch.
        let c = Trainer.equalChunks(total: 10_000, atMost: 128)
        #expect(c.count == 79 && c.size(0) == 127 && c.size(78) == 126)
    }

    // Eval-mode BatchNorm works image by image, so chunking cannot change what is computed:
    // the counts must match exactly; the loss (a mean of chunk means) within float rounding.
    @Test(arguments: [ConvVariant.conv, .cosine, .sigmoid(k: 0.3)])
    func evalModeChunkedEqualsOneBatch(_ variant: ConvVariant) throws {
        let t = try Self.trainer(variant)
        for _ in 0..<3 { _ = try t.trainStep() }
        let whole = try t.evaluate(limit: nil, trainModeBatchNorm: false, chunk: 37)
        let chunked = try t.evaluate()          // chunks of the batch size: 8 → 5 chunks of 7–8
        #expect(chunked.examples == 37 && whole.examples == 37)
        #expect(chunked.accuracy == whole.accuracy)
        #expect(chunked.confusion == whole.confusion)
        #expect(abs(chunked.loss - whole.loss) <= 1e-6 * max(1, abs(whole.loss)), "\(chunked.loss) vs \(whole.loss)")
        // Another chunking, the same counts.
        let odd = try t.evaluate(limit: nil, trainModeBatchNorm: false, chunk: 3)
        #expect(odd.confusion == whole.confusion)
        #expect(abs(odd.loss - whole.loss) <= 1e-6 * max(1, abs(whole.loss)))
    }

    // Train-mode BN normalises each chunk by its own statistics: with one chunk holding the
    // whole set it is the old one-batch definition; with the default it is per equal chunk of
    // at most the batch size, and it never touches the running statistics.
    @Test func trainModeUsesEqualChunksAndLeavesRunningStatisticsAlone() throws {
        let t = try Self.trainer(.cosine)
        for _ in 0..<3 { _ = try t.trainStep() }
        let before = t.network.stateBuffers.map(\.value.array)
        let e = try t.evaluate(trainModeBatchNorm: true)
        #expect(e.trainModeAccuracy != nil)
        #expect(t.network.stateBuffers.map(\.value.array) == before)
        // Repeatable: nothing carried over from one evaluation to the next.
        let again = try t.evaluate(trainModeBatchNorm: true)
        #expect(again.trainModeAccuracy == e.trainModeAccuracy)
    }
}
