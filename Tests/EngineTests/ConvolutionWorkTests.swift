import Testing
@testable import Engine

/// Direct-convolution FLOP per image (2 · Cin · Cout · k · k · Hout · Wout per convolution),
/// against counts worked out by hand below.
@Suite struct ConvolutionWorkTests {
    static func work(_ spec: ModelSpec) throws -> ConvolutionWork { ConvolutionWork(plan: try ModelPlan(spec: spec)) }

    /// cifar-w1 (3×32×32, stages 128/192/256, fc6 256 outputs): the README's "3.82 GFLOP per
    /// image … (3 × the 1.27 GFLOP forward pass)".
    ///   stage 1 at 32×32 (1024 px): 2·3·128·9·1024 = 7 077 888; 2·128·128·9·1024 = 301 989 888 (×2)
    ///   stage 2 at 16×16 (256 px):  2·128·192·9·256 = 113 246 208; 2·192·192·9·256 = 169 869 312 (×2)
    ///   stage 3 at 8×8 (64 px):     2·192·256·9·64 = 56 623 104;   2·256·256·9·64 = 75 497 472 (×2)
    ///   fc6, 4×4 'valid' on 4×4:    2·256·256·16·1 = 2 097 152
    ///   forward 1 273 757 696 FLOP (1.27 G); training 3 × that = 3 821 273 088 (3.82 G).
    @Test func cifarW1MatchesTheReadme() throws {
        let w = try Self.work(.sphereNet9(width: 1, channels: 3, size: 32, classes: 10))
        #expect(w.layers.map(\.name) == [0, 3, 6, 10, 13, 16, 20, 23, 26].map { "features.\($0)" } + ["fc6.0"])
        #expect(w.layers.map(\.flop) == [7_077_888, 301_989_888, 301_989_888, 113_246_208, 169_869_312, 169_869_312,
                                          56_623_104, 75_497_472, 75_497_472, 2_097_152])
        #expect(w.forwardFLOPPerImage == 1_273_757_696)
        #expect(w.trainingFLOPPerImage == 3_821_273_088)
        #expect((Double(w.forwardFLOPPerImage) / 1e7).rounded() / 100 == 1.27)
        #expect((Double(w.trainingFLOPPerImage) / 1e7).rounded() / 100 == 3.82)
    }

    /// fmnist-w0.25 (1×28×28, stages 32/48/64, fc6 64 outputs; 'same' pooling 28 → 14 → 7 → 4):
    ///   stage 1 at 28×28 (784 px): 2·1·32·9·784 = 451 584;     2·32·32·9·784 = 14 450 688 (×2)
    ///   stage 2 at 14×14 (196 px): 2·32·48·9·196 = 5 419 008;  2·48·48·9·196 = 8 128 512 (×2)
    ///   stage 3 at 7×7 (49 px):    2·48·64·9·49 = 2 709 504;   2·64·64·9·49 = 3 612 672 (×2)
    ///   fc6, 4×4 'valid' on 4×4:   2·64·64·16·1 = 131 072
    ///   forward 61 094 912 FLOP (0.0611 G); training 183 284 736 (0.183 G).
    @Test func fmnistQuarterWidthByHand() throws {
        let w = try Self.work(.sphereNet9(width: 0.25, channels: 1, size: 28, classes: 10))
        #expect(w.layers.map(\.flop) == [451_584, 14_450_688, 14_450_688, 5_419_008, 8_128_512, 8_128_512,
                                          2_709_504, 3_612_672, 3_612_672, 131_072])
        #expect(w.forwardFLOPPerImage == 61_094_912)
        #expect(w.trainingFLOPPerImage == 183_284_736)
    }

    /// Neither BatchNorm, SphereNorm nor the classes change the count; only convolutions do.
    @Test func normalizationAndClassesAddNothing() throws {
        var spec = ModelSpec.sphereNet9(width: 0.25, channels: 1, size: 28, classes: 10)
        let plain = try Self.work(spec).forwardFLOPPerImage
        spec.normalization = .sphereNormBatchNorm
        spec.fc6BatchNorm = false
        spec.classes = 100
        #expect(try Self.work(spec).forwardFLOPPerImage == plain)
    }

    /// sphereresnet8 ×0.125 on 1×8×8 (stem and stages 12 / 12 / 24 / 48):
    ///   stem 3×3 at 8×8:                 2·1·12·9·64 = 13 824
    ///   layer1.0 (12→12, stride 1):       conv1, conv2 2·12·12·9·64 = 165 888 each; no shortcut
    ///   layer2.0 (12→24, stride 2, 8→4):  conv1 2·12·24·9·16 = 82 944; conv2 2·24·24·9·16 = 165 888;
    ///                                     shortcut 1×1 stride 2 2·12·24·16 = 9 216
    ///   layer3.0 (24→48, stride 2, 4→2):  conv1 2·24·48·9·4 = 82 944; conv2 2·48·48·9·4 = 165 888;
    ///                                     shortcut 2·24·48·4 = 9 216
    ///   forward 861 696 FLOP.
    @Test func residualNetCountsStridesAndShortcuts() throws {
        var spec = ModelSpec(architecture: .sphereResNet, width: 0.125, depthPerStage: 1, inputChannels: 1,
                             inputHeight: 8, inputWidth: 8, classes: 10)
        spec.normalization = .batchNorm
        let w = try Self.work(spec)
        #expect(w.layers.map(\.name) == ["stem.0", "layer1.0.conv1", "layer1.0.conv2", "layer2.0.conv1", "layer2.0.conv2",
                                         "layer2.0.shortcut.0", "layer3.0.conv1", "layer3.0.conv2", "layer3.0.shortcut.0"])
        #expect(w.layers.map(\.flop) == [13_824, 165_888, 165_888, 82_944, 165_888, 9_216, 82_944, 165_888, 9_216])
        #expect(w.forwardFLOPPerImage == 861_696)
        #expect(w.trainingFLOPPerImage == 3 * 861_696)
    }
}

/// The sgemm yardstick: refuses sizes outside its range, and a small measurement gives
/// finite, positive rates from the number of calls asked for.
@Suite struct SgemmRateTests {
    @Test func refusesBadSizesWithTheRange() {
        for n in [0, -5, 15, 4097] {
            #expect(throws: EngineError("sgemm size \(n) is out of range 16…4096")) { try SgemmRate(size: n) }
        }
        #expect(throws: EngineError.self) { try SgemmRate(size: 64, timedCalls: 0) }
    }

    @Test func smallMeasurement() throws {
        let rate = try SgemmRate(size: 64, warmupCalls: 1, timedCalls: 3)
        #expect(rate.flopPerCall == 2 * 64 * 64 * 64)
        let r = rate.measure()
        #expect(r.size == 64 && r.timedCalls == 3 && r.warmupCalls == 1 && r.threads == BLASThreads.count)
        #expect(r.gflops.isFinite && r.gflops > 0)
        #expect(r.bestGflops >= r.gflops)
        #expect(r.medianSeconds > 0)
    }
}
