import Testing
import Foundation
@testable import Engine

/// Networks that share one workspace (a race's contenders) hold only parameters, optimizer
/// state and running statistics of their own; every per-step buffer is the workspace's.
/// Interleaving them must change nothing they compute.
@Suite struct SharedWorkspaceTests {
    static let format = ImageFormat(channels: 1, height: 12, width: 12, classes: 5)

    static func trainer(width: Double, variant: ConvVariant, batch: Int, workspace: Workspace) throws -> Trainer {
        let model = ModelSpec(architecture: .sphereNet, width: width, depthPerStage: 1, inputChannels: 1, inputHeight: 12,
                              inputWidth: 12, classes: 5)
        var hyper = Hyperparameters()
        hyper.batchSize = batch
        hyper.variant = variant
        return try Trainer(model: model, seed: 7, hyper: hyper, training: RandomExamples(format: format, count: 64, seed: 1),
                           test: RandomExamples(format: format, count: 21, seed: 2), workspace: workspace)
    }

    /// Losses, accuracies and evaluation figures of `steps` steps with an evaluation every
    /// third, as bit patterns.
    static func trace(_ t: Trainer, step: Int) throws -> [UInt64] {
        let r = try t.trainStep()
        var out = [r.loss.bitPattern, r.accuracy.bitPattern]
        if step % 3 == 2 {
            let e = try t.evaluate(trainModeBatchNorm: true)
            out += [e.loss.bitPattern, e.accuracy.bitPattern, e.trainModeAccuracy!.bitPattern]
        }
        return out
    }

    // Different widths and batch sizes, so the shared buffers must grow for the wider one and
    // be re-sliced for the narrower one at every turn.
    @Test func alternatingNetworksEqualEachAlone() throws {
        let shapes: [(Double, ConvVariant, Int)] = [(0.0625, .cosine, 6), (0.125, .sigmoid(k: 0.3), 8), (0.09375, .conv, 5)]
        let steps = 7
        var alone: [[UInt64]] = []
        var aloneBytes: [Int] = []
        for (w, v, b) in shapes {
            let ws = Workspace()
            let t = try Self.trainer(width: w, variant: v, batch: b, workspace: ws)
            alone.append(try (0..<steps).flatMap { try Self.trace(t, step: $0) })
            aloneBytes.append(ws.bytes)
        }
        let shared = Workspace()
        let trainers = try shapes.map { try Self.trainer(width: $0.0, variant: $0.1, batch: $0.2, workspace: shared) }
        var together = [[UInt64]](repeating: [], count: shapes.count)
        var bytesAfterFirstRound = 0
        for s in 0..<steps {
            for (i, t) in trainers.enumerated() { together[i] += try Self.trace(t, step: s) }
            if s == 0 { bytesAfterFirstRound = shared.bytes }
        }
        for i in shapes.indices { #expect(together[i] == alone[i], "network \(i) differs when sharing the workspace") }
        // Grown once, in the first round (evaluations included); never again.
        #expect(shared.bytes == bytesAfterFirstRound)
        // Every buffer is as large as the largest any of them needs: nearly what the widest
        // needs alone (a narrower layer's Winograd block, sized to fill whole vectors of tiles,
        // may take a little more scratch than the wider one's: here the narrowest network's 6×6
        // layers, 112 tile rows a block, make the shared workspace 5.1 % larger than the widest
        // network's own), far below the three together.
        let widest = aloneBytes.max()!
        #expect(shared.bytes >= widest && Double(shared.bytes) <= 1.10 * Double(widest),
                "shared \(shared.bytes) vs alone \(aloneBytes)")
    }

    // Angle statistics read what the last forward pass left in the workspace: only the network
    // that made that pass may read it; the others get none until their own next step.
    @Test func angleStatisticsBelongToTheNetworkThatLastComputed() throws {
        let shared = Workspace()
        let a = try Self.trainer(width: 0.0625, variant: .cosine, batch: 6, workspace: shared)
        let b = try Self.trainer(width: 0.125, variant: .linear, batch: 8, workspace: shared)
        let lone = try Self.trainer(width: 0.0625, variant: .cosine, batch: 6, workspace: Workspace())
        _ = try a.trainStep(); _ = try lone.trainStep()
        #expect(a.angleStatistics() == lone.angleStatistics())
        _ = try b.trainStep()
        #expect(a.angleStatistics().isEmpty)
        #expect(!b.angleStatistics().isEmpty)
        _ = try a.trainStep(); _ = try lone.trainStep()
        #expect(!a.angleStatistics().isEmpty && a.angleStatistics() == lone.angleStatistics())
    }

    // Evaluation adds nothing to a trained network's memory: its chunks are at most a batch.
    @Test func evaluationDoesNotGrowTheWorkspace() throws {
        let ws = Workspace()
        let t = try Self.trainer(width: 0.125, variant: .cosine, batch: 6, workspace: ws)
        _ = try t.trainStep()
        let trained = ws.bytes
        _ = try t.evaluate(trainModeBatchNorm: true)
        #expect(ws.bytes == trained)
    }

    // No layer has an input-gradient buffer of its own: convolutions write theirs over their
    // own outputs, pooling into a shared buffer that does not hold the gradient it is given
    // (the losses staying bit for bit is GoldenRunTests' and ActivationReuseTests' part).
    @Test func inputGradientsNeedNoBuffersOfTheirOwn() throws {
        let ws = Workspace()
        let t = try Self.trainer(width: 0.125, variant: .cosine, batch: 6, workspace: ws)
        _ = try t.trainStep()
        let net = t.network
        let writers = net.layers.filter { $0 is Conv2D || $0 is MaxPool2x2 }
        #expect(writers.count >= 4)
        for layer in writers { #expect(ws.buffer(layer.name, "inputGradient").count == 0, "\(layer.name)") }
        let shared = (0..<2).map { ws.buffer("network", "inputGradient.\($0)").count }
        // SphereNet ×0.125 on 12×12: the first pooling's input, 16-channel 12×12 planes of 6
        // images. Every pooling's gradient arrives in a convolution's output, so one shared
        // buffer is enough.
        #expect(shared == [16 * 6 * 12 * 12, 0], "\(shared)")
        // fc6's input gradient (its 2×2 input) outgrew its 1×1 output buffer.
        let fc6 = try #require(net.layers.first { $0.name == "fc6.0" } as? Conv2D)
        #expect(fc6.outputBuffer.count == 32 * 6 * 2 * 2)
    }

    // The plan's estimate of the workspace against the workspace a real step and evaluation
    // fill: never below it, and a race's estimate is every run's parameters plus the largest
    // workspace.
    @Test(arguments: [ConvVariant.conv, .cosine, .sigmoid(k: 0.3)])
    func estimateCoversTheRealWorkspace(_ variant: ConvVariant) throws {
        let ws = Workspace()
        let t = try Self.trainer(width: 0.125, variant: variant, batch: 8, workspace: ws)
        _ = try t.trainStep()
        _ = try t.evaluate(trainModeBatchNorm: true)
        let e = try ModelPlan(spec: t.model).memoryEstimate(batchSize: 8)
        #expect(e.activationBytes >= ws.bytes, "estimate \(e.activationBytes) below the real \(ws.bytes)")
        #expect(e.activationBytes <= 4 * ws.bytes, "estimate \(e.activationBytes) over 4× the real \(ws.bytes)")
        let small = try ModelPlan(spec: Self.trainer(width: 0.0625, variant: variant, batch: 8, workspace: Workspace()).model)
            .memoryEstimate(batchSize: 8)
        let race = ModelPlan.MemoryEstimate.shared([e, small, e])
        #expect(race.activationBytes == e.activationBytes)
        #expect(race.parameterBytes == 2 * e.parameterBytes + small.parameterBytes)
        #expect(race.parameters == 2 * e.parameters + small.parameters)
    }
}
