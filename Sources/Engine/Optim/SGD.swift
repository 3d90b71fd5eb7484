/// SGD with PyTorch-style momentum and coupled L2: v ← μv + (g + wd·p), p ← p − lr·v; the first
/// step takes v = g. The velocity lives in the slot's `first`.
struct SGD {
    let momentum: Float

    func update(_ p: Parameter, slot: OptimizerSlot, learningRate lr: Float, weightDecay wd: Float) {
        let n = p.count
        precondition(slot.first.count == n, "SGD velocity sized for \(slot.first.count), parameter \(p.name) has \(n)")
        let w = p.value.pointer, g = p.grad.pointer, vel = slot.first.pointer
        let first = slot.step == 1, mu = momentum
        for i in 0..<n {
            let gi = g[i] + wd * w[i]
            vel[i] = first ? gi : mu * vel[i] + gi
            w[i] -= lr * vel[i]
        }
    }
}
