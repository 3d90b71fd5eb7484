/// L_orth = λ·‖W Wᵀ − I‖²_F per SphereConv layer (W as OC × K rows = kernels; spherenet.md §4
/// writes it as WᵀW with W = [K, OC]). Gradient: 4λ·(W Wᵀ − I)·W, added to the weight
/// gradient. Plain convolutions are not penalised.
public final class OrthogonalityPenalty {
    public var weight: Float
    private var gram: [String: FloatBuffer] = [:]   // (OC, OC) per layer, reused

    public init(weight: Float) { self.weight = weight }

    /// Adds the penalty's gradient to each SphereConv layer's weight gradient; returns the
    /// penalty's value.
    @discardableResult
    public func apply(to layers: [Conv2D]) -> Double {
        guard weight > 0 else { return 0 }
        var total = 0.0
        for conv in layers where conv.variant.isSphere {
            let oc = conv.outChannels, k = conv.weight.count / oc
            let g = gram[conv.name] ?? FloatBuffer(count: oc * oc)
            gram[conv.name] = g
            let w = conv.weight.value.pointer
            sgemm(transA: false, transB: true, m: oc, n: oc, k: k, a: w, lda: k, b: w, ldb: k, beta: 0, c: g.pointer, ldc: oc)
            var sum: Float = 0
            for i in 0..<oc { g[i * oc + i] -= 1 }
            for i in 0..<(oc * oc) { sum += g[i] * g[i] }
            total += Double(weight) * Double(sum)
            sgemm(transA: false, transB: false, m: oc, n: k, k: oc, alpha: 4 * weight, a: g.pointer, lda: oc,
                  b: w, ldb: k, beta: 1, c: conv.weight.grad.pointer, ldc: k)
        }
        return total
    }
}
