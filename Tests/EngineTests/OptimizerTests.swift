import Testing
@testable import Engine

@Suite struct OptimizerTests {
    @Test func adamFirstStepsMatchHandComputation() {
        let p = Parameter(name: "w", shape: [2], decays: true)
        p.value.copy(from: [1, -2])
        let opt = Optimizer(kind: .adamDefault, weightDecay: 0.1)
        var w: [Double] = [1, -2], m: [Double] = [0, 0], v: [Double] = [0, 0]
        let grads: [[Float]] = [[0.5, -0.25], [0.1, 0.3], [-0.2, 0.05]]
        for (t, g) in grads.enumerated() {
            p.grad.copy(from: g)
            opt.step([p], learningRate: 0.01)
            for i in 0..<2 {
                let gi = Double(g[i]) + 0.1 * w[i]
                m[i] = 0.9 * m[i] + 0.1 * gi
                v[i] = 0.999 * v[i] + 0.001 * gi * gi
                let mh = m[i] / (1 - pow(0.9, Double(t + 1))), vh = v[i] / (1 - pow(0.999, Double(t + 1)))
                w[i] -= 0.01 * mh / (vh.squareRoot() + 1e-8)
                #expect(abs(Double(p.value[i]) - w[i]) < 1e-6, "step \(t) [\(i)]")
            }
        }
    }

    @Test func sgdMomentumAndDecayOnlyWhereAllowed() {
        let decaying = Parameter(name: "a", shape: [1], decays: true)
        let sphere = Parameter(name: "b", shape: [1], decays: false)
        decaying.value[0] = 2; sphere.value[0] = 2
        let opt = Optimizer(kind: .sgd(momentum: 0.9), weightDecay: 0.5)
        for _ in 0..<2 {
            decaying.grad[0] = 1; sphere.grad[0] = 1
            opt.step([decaying, sphere], learningRate: 0.1)
        }
        // a: g1 = 1 + 0.5·2 = 2 → v 2, w 1.8; g2 = 1 + 0.9 = 1.9 → v 0.9·2 + 1.9 = 3.7, w 1.43
        #expect(abs(decaying.value[0] - 1.43) < 1e-6)
        // b: v 1 → w 1.9; v 1.9 → w 1.71
        #expect(abs(sphere.value[0] - 1.71) < 1e-6)
        #expect(abs(opt.decayLoss([decaying, sphere]) - 0.25 * 1.43 * 1.43) < 1e-6)
    }

    @Test func scheduleDropsAtMilestonesAndKeepsUserRate() {
        var s = LearningRateSchedule(base: 1e-3, milestones: [34_000, 54_000])
        #expect(s.rate(at: 0) == 1e-3)
        #expect(abs(s.rate(at: 34_000) - 1e-4) < 1e-10)
        #expect(abs(s.rate(at: 60_000) - 1e-5) < 1e-11)
        s.setRate(2e-4, at: 40_000)
        #expect(abs(s.rate(at: 40_000) - 2e-4) < 1e-9)
        #expect(abs(s.rate(at: 54_000) - 2e-5) < 1e-10)
        #expect(s.milestones == [54_000])
    }

    @Test func settingARateAfterMilestonesKeepsTheScheduleValid() throws {
        var h = Hyperparameters()
        h.schedule = LearningRateSchedule(base: 1e-3, milestones: [100, 200])
        h.schedule.setRate(0.5, at: 250)          // the old rule made the base 50, out of range
        try h.validate()
        #expect(h.schedule.rate(at: 250) == 0.5)
        #expect(h.schedule.rate(at: 10_000) == 0.5)
    }

    @Test func orthogonalityValueAndGradient() {
        let conv = Conv2D(name: "features.0", inChannels: 2, outChannels: 3, kernel: 2, padding: 0, variant: .cosine, workspace: Workspace())
        var rng = TestRandom(14)
        conv.initialize(using: &rng)
        let penalty = OrthogonalityPenalty(weight: 0.3)
        conv.weight.grad.zero()
        let value = penalty.apply(to: [conv])
        let analytic = conv.weight.grad.array
        // Direct value: λ‖W Wᵀ − I‖².
        let w = conv.weight.value.array, k = 8
        var direct = 0.0
        for a in 0..<3 { for b in 0..<3 {
            var dot = 0.0
            for j in 0..<k { dot += Double(w[a * k + j]) * Double(w[b * k + j]) }
            let d = dot - (a == b ? 1 : 0)
            direct += d * d
        } }
        #expect(abs(value - 0.3 * direct) < 1e-5 * max(1, direct))
        let bad = checkGradient("weight", values: conv.weight.value, analytic: analytic, indices: Array(0..<24), step: 1e-3,
                                absolute: 1e-3, relative: 1e-2) {
            conv.weight.grad.zero()
            return penalty.apply(to: [conv])
        }
        #expect(bad.isEmpty, "\(bad)")
        conv.variant = .conv
        #expect(penalty.apply(to: [conv]) == 0)
    }
}

import Foundation
