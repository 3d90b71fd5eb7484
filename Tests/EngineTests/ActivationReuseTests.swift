import Testing
import Foundation
@testable import Engine

/// BatchNorm outputs in one shared buffer, written again in backward; convolutions writing
/// their input gradients over their own outputs; pooling finding its winners again instead of
/// keeping indices (`Network.reusesActivations`). Memory goes down; nothing computed may change.
@Suite struct ActivationReuseTests {
    static let format = ImageFormat(channels: 1, height: 14, width: 14, classes: 5)

    // Three pooling stages over 14 → 7 → 4 → 2 (an odd side: edge windows), two convolutions
    // per stage, widths 16/24/32 so the 3×3 layers take the Winograd paths.
    static func trainer(_ variant: ConvVariant, reuses: Bool, workspace: Workspace = Workspace(), batch: Int = 6) throws -> Trainer {
        let model = ModelSpec(architecture: .sphereNet, width: 0.125, depthPerStage: 2, inputChannels: 1, inputHeight: 14,
                              inputWidth: 14, classes: 5)
        var hyper = Hyperparameters()
        hyper.batchSize = batch
        hyper.variant = variant
        return try Trainer(model: model, seed: 11, hyper: hyper, training: RandomExamples(format: format, count: 48, seed: 3),
                           test: RandomExamples(format: format, count: 13, seed: 4), workspace: workspace, reusesActivations: reuses)
    }

    static func bits(_ t: Trainer) -> [UInt32] {
        let n = t.network
        return (n.savedParameters.map(\.value) + n.stateBuffers.map(\.value)).flatMap { b in (0..<b.count).map { b[$0].bitPattern } }
    }

    @Test(arguments: [ConvVariant.conv, .cosine, .linear, .sigmoid(k: 0.3), .learnableSigmoid])
    func sameBitsAsKeptActivations(_ variant: ConvVariant) throws {
        let reused = try Self.trainer(variant, reuses: true), kept = try Self.trainer(variant, reuses: false)
        for step in 0..<4 {
            let (a, b) = (try reused.trainStep(), try kept.trainStep())
            #expect(a.loss.bitPattern == b.loss.bitPattern && a.accuracy == b.accuracy, "step \(step): \(a.loss) vs \(b.loss)")
            #expect(reused.angleStatistics() == kept.angleStatistics(), "step \(step)")
        }
        #expect(!reused.angleStatistics().isEmpty)
        #expect(Self.bits(reused) == Self.bits(kept), "weights, k or running statistics differ after 4 steps")
        let (ea, eb) = (try reused.evaluate(trainModeBatchNorm: true), try kept.evaluate(trainModeBatchNorm: true))
        #expect(ea.loss.bitPattern == eb.loss.bitPattern && ea.trainModeAccuracy == eb.trainModeAccuracy)
        // Training goes on after an evaluation wrote over the shared buffers.
        #expect(try reused.trainStep().loss.bitPattern == kept.trainStep().loss.bitPattern)
        #expect(Self.bits(reused) == Self.bits(kept))
    }

    // A SphereNet-9 at batch 32: the nine BatchNorm outputs become one buffer, the pooling
    // indices go, the convolutions' input gradients live in their outputs.
    @Test func holdsLessMemory() throws {
        var bytes: [Bool: Int] = [:]
        for reuses in [true, false] {
            let ws = Workspace()
            let model = ModelSpec.sphereNet9(width: 0.25, channels: 1, size: 28, classes: 10)
            var hyper = Hyperparameters()
            hyper.batchSize = 32
            let fmt = ImageFormat(channels: 1, height: 28, width: 28, classes: 10)
            let t = try Trainer(model: model, seed: 1, hyper: hyper, training: RandomExamples(format: fmt, count: 64, seed: 1),
                                test: RandomExamples(format: fmt, count: 8, seed: 2), workspace: ws, reusesActivations: reuses)
            _ = try t.trainStep()
            bytes[reuses] = ws.bytes
        }
        let (reused, kept) = (bytes[true]!, bytes[false]!)
        #expect(Double(reused) <= 0.7 * Double(kept), "workspace \(reused) bytes reusing vs \(kept) keeping")
        // Still above what the plan's estimate must cover: the estimate counts the same scheme.
        let plan = try ModelPlan(spec: .sphereNet9(width: 0.25, channels: 1, size: 28, classes: 10))
        #expect(plan.memoryEstimate(batchSize: 32).activationBytes >= reused)
    }

    // Steps that do not capture patches leave the angle view nothing stale to report.
    @Test func angleCaptureFollowsTheSwitch() throws {
        let t = try Self.trainer(.cosine, reuses: true)
        _ = try t.trainStep()
        let first = t.angleStatistics()
        #expect(first.count == t.network.sphereCapable.count)
        t.capturesAngles = false
        _ = try t.trainStep()
        #expect(t.angleStatistics().isEmpty)
        t.capturesAngles = true
        _ = try t.trainStep()
        #expect(t.angleStatistics().count == first.count)
    }
}
