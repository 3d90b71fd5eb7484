import Foundation

/// Adam (Kingma & Ba) with coupled L2: g ← g + wd·p, bias corrections folded into the step
/// size as PyTorch does. Moments live in the slot (`first` = m, `second` = v).
struct Adam {
    let beta1: Float, beta2: Float, epsilon: Float

    func update(_ p: Parameter, slot: OptimizerSlot, learningRate lr: Float, weightDecay wd: Float) {
        let n = p.count
        precondition(slot.first.count == n && slot.second.count == n, "Adam moments sized for \(slot.first.count), parameter \(p.name) has \(n)")
        let w = p.value.pointer, g = p.grad.pointer, m = slot.first.pointer, v = slot.second.pointer
        let t = Float(slot.step)
        let c1 = 1 - pow(beta1, t), c2 = 1 - pow(beta2, t)
        let stepSize = lr / c1, c2root = c2.squareRoot()
        let (b1, b2, eps) = (beta1, beta2, epsilon)
        for i in 0..<n {
            let gi = g[i] + wd * w[i]
            m[i] = b1 * m[i] + (1 - b1) * gi
            v[i] = b2 * v[i] + (1 - b2) * gi * gi
            w[i] -= stepSize * m[i] / (v[i].squareRoot() / c2root + eps)
        }
    }
}
