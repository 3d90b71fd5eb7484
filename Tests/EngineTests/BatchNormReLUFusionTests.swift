import Testing
@testable import Engine

/// A BatchNorm that applies the following ReLU (`fuseBatchNormReLU`) against its twin, the
/// two layers apart: identical bits forward (train and eval) and backward, on planes that are
/// and are not multiples of eight lanes; and finite differences through the fused layer.
@Suite struct BatchNormReLUFusionTests {
    struct Pass: Equatable {
        var output: [UInt32], inputGradient: [UInt32], gamma: [UInt32], beta: [UInt32], eval: [UInt32]
    }

    func bits(_ v: [Float]) -> [UInt32] { v.map(\.bitPattern) }

    /// Train forward, backward and an eval forward, fused or as BatchNorm → ReLU.
    func run(fused: Bool, shape: Shape, stats: BatchNormStatistics, needsInput: Bool = true) -> Pass {
        var rng = TestRandom(11)
        let x = rng.gaussians(shape.count, scale: 2)
        var dy = rng.gaussians(shape.count)
        for i in stride(from: 0, to: dy.count, by: 13) { dy[i] = -0.0 }   // signed zeros must come out alike
        let bn = BatchNorm2D(name: "bn", channels: shape.channels, statistics: stats)
        bn.needsInputGradient = needsInput
        for c in 0..<shape.channels { bn.weight.value[c] = 0.5 + Float(c % 3); bn.bias.value[c] = Float(c % 5) * 0.4 - 0.8 }
        let relu = ReLU(name: "relu")
        if fused { fuseBatchNormReLU([bn, relu]) }
        #expect(bn.appliesReLU == fused && relu.absorbed == fused)
        let y = relu.forward(bn.forward(activation(x, shape), training: true), training: true)
        let output = y.buffer.array
        let dx = bn.backward(relu.backward(activation(dy, shape))!)
        let eval = relu.forward(bn.forward(activation(x, shape), training: false), training: false).buffer.array
        return Pass(output: bits(output), inputGradient: bits(dx?.buffer.array ?? []),
                    gamma: bits(bn.weight.grad.array), beta: bits(bn.bias.grad.array), eval: bits(eval))
    }

    @Test(arguments: [Shape(channels: 3, batch: 3, height: 5, width: 7),      // plane 105: lanes and a tail
                      Shape(channels: 2, batch: 1, height: 1, width: 3),      // tail only
                      Shape(channels: 16, batch: 8, height: 28, width: 28),   // fmnist stage 1
                      Shape(channels: 64, batch: 4, height: 7, width: 7)])    // fmnist stage 3
    func fusedMatchesTheTwoLayersBitForBit(_ shape: Shape) {
        for stats in BatchNormStatistics.allCases {
            #expect(run(fused: true, shape: shape, stats: stats) == run(fused: false, shape: shape, stats: stats), "\(shape) \(stats)")
        }
        #expect(run(fused: true, shape: shape, stats: .pytorch, needsInput: false)
                == run(fused: false, shape: shape, stats: .pytorch, needsInput: false))
    }

    @Test func fusedGradientsMatchFiniteDifferences() {
        let shape = Shape(channels: 3, batch: 4, height: 3, width: 2)
        let bn = BatchNorm2D(name: "bn", channels: 3, statistics: .pytorch)
        for i in 0..<3 { bn.weight.value[i] = 0.5 + Float(i); bn.bias.value[i] = Float(i) * 0.3 - 0.3 }
        fuseBatchNormReLU([bn, ReLU(name: "relu")])
        var rng = TestRandom(5)
        let bad = gradientCheck(bn, input: rng.gaussians(shape.count, scale: 2), shape: shape, step: 1e-3)
        #expect(bad.isEmpty, "\(bad.prefix(5))")
    }

    @Test func networksFuseEveryBatchNormBeforeAReLU() throws {
        for spec in [ModelSpec.sphereNet9(width: 0.25, channels: 1, size: 28),
                     ModelSpec(architecture: .sphereResNet, width: 0.25, depthPerStage: 1, inputChannels: 1,
                               inputHeight: 28, inputWidth: 28, classes: 10)] {
            let network = try Network(spec: spec, variant: .conv, seed: 1)
            var pairs = 0
            for (a, b) in zip(network.layers, network.layers.dropFirst()) {
                if let bn = a as? BatchNorm2D, let relu = b as? ReLU { #expect(bn.appliesReLU && relu.absorbed); pairs += 1 }
            }
            for case let unit as ResidualUnit in network.layers { #expect(unit.bn1.appliesReLU && !unit.bn2.appliesReLU) }
            #expect(pairs > 0 || network.layers.contains { $0 is ResidualUnit })
        }
    }
}
