import Testing
@testable import Engine

/// Evaluation folds each BatchNorm (and the ReLU it applies) into the convolution before it
/// (EvaluationFold.swift): the Winograd output transforms (fused blocks and separate passes,
/// 2×2 and 4×4 tiles), the im2col path and the SphereConv epilogue apply it as they write.
/// Its slow twin is the two layers run apart; the fold must give their bits exactly.
@Suite struct EvaluationFoldTests {
    struct Case: CustomStringConvertible, Sendable {
        var inC: Int, outC: Int, kernel = 3, padding = 1, h: Int, w: Int, batch = 2
        var description: String { "\(inC)→\(outC) k\(kernel) \(h)×\(w) N\(batch)" }
    }

    static let cases: [Case] = [
        Case(inC: 16, outC: 24, h: 28, w: 28),               // Winograd fused, 4×4 tiles
        Case(inC: 16, outC: 8, h: 15, w: 13),                 // Winograd fused, 4×4 tiles, partial tiles, odd sides
        Case(inC: 16, outC: 24, h: 14, w: 14, batch: 3),      // pairs of tile rows across images (fmnist's 14×14)
        Case(inC: 24, outC: 16, h: 7, w: 7, batch: 3),        // Winograd fused, 4×4 tiles in quads of tile rows, odd side
        Case(inC: 16, outC: 16, h: 6, w: 6, batch: 4),        // quads of tile rows, even side
        Case(inC: 104, outC: 100, h: 7, w: 7),                // quads at 104 channels, two rows left over
        Case(inC: 24, outC: 16, h: 9, w: 10),                 // Winograd fused, 2×2 tiles, odd height
        Case(inC: 100, outC: 104, h: 14, w: 13),              // Winograd in passes, 4×4 tiles, partial tiles
        Case(inC: 136, outC: 132, h: 7, w: 7),                // Winograd in passes, 2×2 tiles
        Case(inC: 1, outC: 8, h: 28, w: 28),                  // im2col (too few channels for Winograd)
        Case(inC: 8, outC: 8, kernel: 5, padding: 2, h: 9, w: 11),   // im2col, 5×5
    ]

    static let variants: [ConvVariant] = [.conv, .cosine, .linear, .sigmoid(k: 0.3), .learnableSigmoid]

    func bits(_ a: Activation) -> [UInt32] { (0..<a.shape.count).map { a.buffer[$0].bitPattern } }

    /// A BatchNorm with the spread of parameters and running statistics training leaves.
    static func trainedBatchNorm(channels: Int, rng: inout TestRandom) -> BatchNorm2D {
        let bn = BatchNorm2D(name: "bn", channels: channels, statistics: .pytorch)
        for o in 0..<channels {
            bn.weight.value[o] = rng.uniform(-1.5, 1.5)
            bn.bias.value[o] = rng.uniform(-0.5, 0.5)
            bn.runningMean.value[o] = rng.uniform(-0.3, 0.3)
            bn.runningVar.value[o] = rng.uniform(0.2, 3)
        }
        return bn
    }

    @Test(arguments: cases)
    func foldGivesTheBitsOfTheTwoLayersApart(_ c: Case) {
        var rng = TestRandom(23)
        let shape = Shape(channels: c.inC, batch: c.batch, height: c.h, width: c.w)
        let x = activation(rng.gaussians(shape.count), shape)
        let conv = Conv2D(name: "conv", inChannels: c.inC, outChannels: c.outC, kernel: c.kernel, padding: c.padding,
                          workspace: Workspace())
        conv.initialize(using: &rng)
        for relu in [true, false] {
            let bn = EvaluationFoldTests.trainedBatchNorm(channels: c.outC, rng: &rng)
            if relu { fuseBatchNormReLU([bn, ReLU(name: "relu")]) }
            for variant in EvaluationFoldTests.variants {
                conv.variant = variant
                let apart = bits(bn.forward(conv.forward(x, training: false), training: false))
                let folded = bits(conv.forward(x, training: false, folding: bn.evaluationFold()))
                let differing = zip(apart, folded).filter { $0 != $1 }.count
                #expect(differing == 0, "\(c) \(variant.name) relu \(relu): \(differing) of \(apart.count) outputs differ")
                if relu { #expect(folded.allSatisfy { Float(bitPattern: $0) >= 0 }, "\(c) \(variant.name): ReLU not applied") }
            }
        }
    }

    /// A Winograd convolution (plain, or a cosine SphereConv: the output transforms apply its
    /// angle too) followed by BatchNorm, ReLU and 2×2 max pooling writes only the pooled output
    /// (fused blocks and passes, 2×2 and 4×4 tiles, pairs and quads of tile rows, even and odd
    /// sides): the four layers' bits, into the pooling layer's buffer. The other SphereConvs keep
    /// their angle pass and do not pool as they write.
    @Test(arguments: cases.filter { $0.inC >= 8 && $0.kernel == 3 }, [ConvVariant.conv, .cosine])
    func pooledFoldGivesTheBitsOfTheFourLayersApart(_ c: Case, variant: ConvVariant) {
        var rng = TestRandom(37)
        let shape = Shape(channels: c.inC, batch: c.batch, height: c.h, width: c.w)
        let x = activation(rng.gaussians(shape.count), shape)
        let conv = Conv2D(name: "conv", inChannels: c.inC, outChannels: c.outC, kernel: 3, padding: 1, workspace: Workspace())
        conv.initialize(using: &rng)
        conv.variant = variant
        let bn = EvaluationFoldTests.trainedBatchNorm(channels: c.outC, rng: &rng)
        let relu = ReLU(name: "relu"), pool = MaxPool2x2(name: "pool")
        fuseBatchNormReLU([bn, relu])
        #expect(conv.poolsAsItWrites)
        let apart = bits(pool.forward(relu.forward(bn.forward(conv.forward(x, training: false), training: false), training: false),
                                      training: false))
        let pooled = conv.forward(x, training: false, folding: bn.evaluationFold(), pooling: pool)
        #expect(pooled.shape == Shape(channels: c.outC, batch: c.batch, height: (c.h + 1) / 2, width: (c.w + 1) / 2))
        let folded = bits(pooled)
        let differing = zip(apart, folded).filter { $0 != $1 }.count
        #expect(folded.count == apart.count && differing == 0, "\(c) \(variant.name): \(differing) of \(apart.count) pooled outputs differ")
        for other in [ConvVariant.linear, .sigmoid(k: 0.3), .learnableSigmoid] {
            conv.variant = other
            #expect(!conv.poolsAsItWrites, "\(other.name)")
        }
    }

    /// The network's eval forward (folded) against its layers run one by one.
    @Test(arguments: [ConvVariant.conv, .cosine, .sigmoid(k: 0.3)])
    func networkEvaluationMatchesLayerByLayer(_ variant: ConvVariant) throws {
        for spec in [ModelSpec.sphereNet9(width: 0.25, channels: 1, size: 28),
                     ModelSpec(architecture: .sphereResNet, width: 0.25, depthPerStage: 1, inputChannels: 1,
                               inputHeight: 28, inputWidth: 28, classes: 10)] {
            let network = try Network(spec: spec, variant: variant, seed: 3)
            var rng = TestRandom(9)
            for bn in network.batchNorms {
                for o in 0..<bn.channels {
                    bn.runningMean.value[o] = rng.uniform(-0.2, 0.2)
                    bn.runningVar.value[o] = rng.uniform(0.5, 2)
                    bn.bias.value[o] = rng.uniform(-0.2, 0.2)
                }
            }
            let shape = Shape(channels: 1, batch: 4, height: 28, width: 28)
            let images = activation(rng.gaussians(shape.count), shape)
            let foldedFeatures = network.forwardBody(images, training: false)
            let folded = bits(foldedFeatures)
            var h = images
            for layer in network.layers { h = layer.forward(h, training: false) }
            #expect(foldedFeatures.shape == h.shape)
            #expect(folded == bits(h), "\(spec.displayName) \(variant.name)")
        }
    }
}
