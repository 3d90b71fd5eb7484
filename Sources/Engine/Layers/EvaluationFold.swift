import CKernels
import Foundation

/// A BatchNorm in eval mode (and the ReLU it applies) folded into the convolution before it:
/// y = u·scale + shift per output channel, then max(y, 0) when `relu`. The convolution applies
/// it while each channel's output is still in cache (the Winograd output transforms, the
/// SphereConv epilogue), so an evaluation skips BatchNorm's pass over the activation. The
/// arithmetic is BatchNorm2D's own (`scaleAndShift`), so the results keep their bits
/// (EvaluationFoldTests). Only `Network.forwardBody` in eval mode builds one.
struct FoldedNormalization {
    let scale: UnsafePointer<Float>   // (C) γ / √(running var + ε)
    let shift: UnsafePointer<Float>   // (C) β − running mean · scale
    let relu: Bool
    /// Set when a 2×2 max pooling follows too: its output (C, N, ⌈H/2⌉, ⌈W/2⌉), which the
    /// Winograd output transforms then write instead of the convolution's own output.
    var pooled: UnsafeMutablePointer<Float>? = nil
    /// Set for a cosine SphereConv whose Winograd output transforms apply its angle before the
    /// fold (`Conv2D.appliesAngleAsItWrites`): 1/‖w_c‖ per channel, 1/‖x_patch‖ per position.
    var cosineNorms: (inverseWeightNorm: UnsafePointer<Float>, inverseInputNorm: UnsafePointer<Float>)? = nil

    /// The same fold as the C kernels take it, for the length of `body`.
    func withKernelForm<R>(_ body: (UnsafePointer<sl_output_epilogue>) -> R) -> R {
        var post = sl_output_epilogue(scale: scale, shift: shift, relu: relu ? 1 : 0, pooled: pooled, minus_x: nil, spread: nil,
                                      inv_w: cosineNorms?.inverseWeightNorm, inv_x: cosineNorms?.inverseInputNorm)
        return withUnsafePointer(to: &post, body)
    }

    /// Applies the fold in place to columns `columns` of rows `rows` (channels) of a
    /// (C, ld) matrix: for outputs no transform writes channel by channel.
    func apply(to u: UnsafeMutablePointer<Float>, rows: Range<Int>, ld: Int, columns: Range<Int>) {
        precondition(pooled == nil, "only the Winograd output transforms pool as they write")
        precondition(cosineNorms == nil, "only the Winograd output transforms apply a SphereConv's angle as they write")
        for r in rows {
            let row = u + r * ld + columns.lowerBound
            BatchNorm2D.scaleAndShift(row, into: row, count: columns.count, scale: scale[r], shift: shift[r], relu: relu)
        }
    }
}

extension BatchNorm2D {
    /// This layer's eval-mode forward as a fold for the convolution before it: the scale and
    /// shift its eval forward computes per channel, kept in the layer's own buffers.
    func evaluationFold() -> FoldedNormalization {
        foldScale.ensure(count: channels)
        foldShift.ensure(count: channels)
        let (rm, rv, gamma, beta) = (runningMean.value.pointer, runningVar.value.pointer, weight.value.pointer, bias.value.pointer)
        let eps = epsilon
        for c in 0..<channels {
            let (scale, shift) = BatchNorm2D.evaluationAffine(mean: rm[c], variance: rv[c], gamma: gamma[c], beta: beta[c], epsilon: eps)
            foldScale[c] = scale
            foldShift[c] = shift
        }
        return FoldedNormalization(scale: foldScale.pointer, shift: foldShift.pointer, relu: appliesReLU)
    }
}

extension Network {
    /// Eval-mode forward with every convolution that a BatchNorm follows doing that BatchNorm's
    /// (and its ReLU's) work in its own output pass. Residual units run as they are.
    /// When the ReLU is followed by a 2×2 max pooling and the convolution's output transform can
    /// pool, the pooled output is all it writes.
    func forwardFolded(_ images: Activation) -> Activation {
        var h = images
        var i = 0
        while i < layers.count {
            if Network.foldsEvaluation, let conv = layers[i] as? Conv2D, i + 1 < layers.count, let bn = layers[i + 1] as? BatchNorm2D {
                if i + 3 < layers.count, let relu = layers[i + 2] as? ReLU, relu.absorbed,
                   let pool = layers[i + 3] as? MaxPool2x2, conv.poolsAsItWrites {
                    h = conv.forward(h, training: false, folding: bn.evaluationFold(), pooling: pool)
                    i += 4
                    continue
                }
                h = conv.forward(h, training: false, folding: bn.evaluationFold())
                i += 2
            } else {
                h = layers[i].forward(h, training: false)
                i += 1
            }
        }
        return h
    }

    /// Developer switch for measurements: SPHERELAB_NO_EVAL_FOLD=1 runs evaluations layer by
    /// layer (BatchNorm and pooling as their own passes). Read once per process.
    static let foldsEvaluation = ProcessInfo.processInfo.environment["SPHERELAB_NO_EVAL_FOLD"] == nil
}
