import Foundation
import Testing
@testable import Engine

@Suite struct NormalizationAndPoolingTests {
    let shape = Shape(channels: 3, batch: 4, height: 3, width: 2)

    @Test(arguments: BatchNormStatistics.allCases)
    func batchNormGradients(_ stats: BatchNormStatistics) {
        let bn = BatchNorm2D(name: "features.1", channels: 3, statistics: stats)
        var rng = TestRandom(4)
        for i in 0..<3 { bn.weight.value[i] = 0.5 + Float(i); bn.bias.value[i] = Float(i) - 1 }
        let bad = gradientCheck(bn, input: rng.gaussians(shape.count, scale: 2), shape: shape, step: 1e-2)
        #expect(bad.isEmpty, "\(stats): \(bad.prefix(5))")
    }

    @Test func batchNormRunningStatisticsFollowEachConvention() {
        let x: [Float] = (0..<shape.count).map { Float($0 % 7) }
        // channel c holds x[c·24 ..< (c+1)·24]
        for stats in BatchNormStatistics.allCases {
            let bn = BatchNorm2D(name: "bn", channels: 3, statistics: stats)
            _ = bn.forward(activation(x, shape), training: true)
            for c in 0..<3 {
                let xs = x[(c * 24)..<((c + 1) * 24)].map(Double.init)
                let mean = xs.reduce(0, +) / 24
                let biased = xs.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / 24
                switch stats {
                case .pytorch:
                    #expect(abs(Double(bn.runningMean.value[c]) - 0.1 * mean) < 1e-5)
                    #expect(abs(Double(bn.runningVar.value[c]) - (0.9 + 0.1 * biased * 24 / 23)) < 1e-5)
                case .paper:
                    #expect(abs(Double(bn.runningMean.value[c]) - 0.001 * mean) < 1e-6)
                    #expect(abs(Double(bn.runningVar.value[c]) - 0.001 * biased) < 1e-6)
                }
            }
            #expect(bn.batchesTracked.value[0] == 1)
        }
    }

    @Test func batchNormEvalModeUsesRunningStatistics() {
        let bn = BatchNorm2D(name: "bn", channels: 3, statistics: .paper)
        for c in 0..<3 { bn.runningMean.value[c] = Float(c); bn.runningVar.value[c] = 4; bn.weight.value[c] = 2; bn.bias.value[c] = 1 }
        let x = [Float](repeating: 3, count: shape.count)
        let y = bn.forward(activation(x, shape), training: false)
        for c in 0..<3 {
            let expected = 2 * (3 - Float(c)) / (4 + 1e-3).squareRoot() + 1
            #expect(abs(y.buffer[c * 24] - expected) < 1e-5)
        }
    }

    @Test func channelAffineGradients() {
        let layer = ChannelAffine(name: "features.1", channels: 3)
        for i in 0..<3 { layer.weight.value[i] = 1.5 - Float(i); layer.bias.value[i] = 0.25 }
        var rng = TestRandom(8)
        // ChannelAffine's backward overwrites dy in place, gradientCheck passes a fresh copy.
        #expect(gradientCheck(layer, input: rng.gaussians(shape.count), shape: shape).isEmpty)
    }

    /// Distinct, well separated values so that ±h never changes a max or a ReLU's side.
    func separatedValues(_ n: Int, seed: UInt64) -> [Float] {
        var rng = TestRandom(seed)
        var v = (0..<n).map { Float($0) * 0.1 - Float(n) * 0.05 + 0.05 }
        for i in stride(from: n - 1, to: 0, by: -1) { v.swapAt(i, Int(rng.next() % UInt64(i + 1))) }
        return v
    }

    @Test func reluGradients() {
        let x = separatedValues(shape.count, seed: 1)
        // Fresh layer per evaluation is not needed: ReLU works in place on its input buffer,
        // so the check hands it a copy each time through the forward closure.
        let bad = gradientCheckInPlace(makeLayer: { ReLU(name: "r") }, input: x, shape: shape)
        #expect(bad.isEmpty, "\(bad)")
    }

    @Test func maxPoolSameSizesAndGradients() throws {
        let pool = MaxPool2x2(name: "p")
        var s = Shape(channels: 1, batch: 1, height: 28, width: 28)
        var sizes: [Int] = []
        for _ in 0..<3 { s = try pool.outputShape(for: s); sizes.append(s.height) }
        #expect(sizes == [14, 7, 4])
        for (h, w) in [(4, 4), (5, 3), (7, 7), (1, 1)] {
            let shape = Shape(channels: 2, batch: 3, height: h, width: w)
            let bad = gradientCheck(MaxPool2x2(name: "p"), input: separatedValues(shape.count, seed: 3), shape: shape, step: 1e-2)
            #expect(bad.isEmpty, "\(h)×\(w): \(bad)")
        }
        // Hand example: 3×3 → 2×2, the edge windows see only existing pixels.
        let y = MaxPool2x2(name: "p").forward(activation([1, 5, 2, -1, 0, 3, 7, -2, -3], Shape(channels: 1, batch: 1, height: 3, width: 3)), training: true)
        #expect(y.buffer.array == [5, 3, 7, -3])
    }

    @Test func globalAveragePoolGradients() {
        var rng = TestRandom(6)
        #expect(gradientCheck(GlobalAveragePool(name: "pool"), input: rng.gaussians(shape.count), shape: shape).isEmpty)
    }

    @Test(arguments: [(4, 4, 1), (3, 5, 2)])
    func residualUnitGradients(_ c: (Int, Int, Int)) {
        let unit = ResidualUnit(name: "layer1.0", inChannels: c.0, outChannels: c.1, stride: c.2, variant: .linear,
                                statistics: .pytorch, workspace: Workspace())
        var rng = TestRandom(12)
        for conv in [unit.conv1, unit.conv2] + (unit.shortcutConv.map { [$0] } ?? []) { conv.initialize(using: &rng) }
        let shape = Shape(channels: c.0, batch: 3, height: 5, width: 5)
        // Two ReLUs sit after conv1: a small step keeps perturbations from crossing kinks.
        let bad = gradientCheck(unit, input: rng.gaussians(shape.count), shape: shape, step: 1e-3, absolute: 5e-3, relative: 2e-2)
        #expect(bad.count <= 2, "\(c): \(bad.prefix(5))")   // allow a rare ReLU kink crossing
        #expect(unit.shortcutConv != nil || c.0 == c.1)
    }
}

/// Gradient check for layers that work in place on their input: each loss evaluation gets
/// a fresh copy of the input.
func gradientCheckInPlace(makeLayer: () -> Layer, input: [Float], shape: Shape, step: Float = 1e-2) -> [GradientMismatch] {
    var rng = TestRandom(21)
    let layer = makeLayer()
    let out = layer.forward(activation(input, shape), training: true)
    let r = rng.gaussians(out.shape.count)
    let dx = layer.backward(Activation(FloatBuffer(r), out.shape))!.buffer.array
    let x = FloatBuffer(input)
    return checkGradient("input", values: x, analytic: dx, indices: sampleIndices(x.count), step: step,
                         absolute: 1e-3, relative: 1e-2) {
        projected(makeLayer().forward(activation(x.array, shape), training: true), r)
    }
}
