/// How BatchNorm keeps its running statistics (spherenet.md §2).
public enum BatchNormStatistics: String, Sendable, Codable, CaseIterable {
    /// PyTorch: ε 1e-5, momentum 0.1, running mean 0 / variance 1 at start, unbiased variance.
    case pytorch
    /// The authors' TensorFlow code: ε 1e-3, decay 0.999 from zero, biased variance, no
    /// debiasing — evaluation-mode accuracy lags early in training.
    case paper

    public var epsilon: Float { self == .pytorch ? 1e-5 : 1e-3 }
    /// Weight of the new batch statistic in the running average.
    var update: Float { self == .pytorch ? 0.1 : 0.001 }
}

/// Batch normalisation per channel over (N, H, W) — one contiguous plane per channel.
public final class BatchNorm2D: Layer {
    /// dx is written over dy. With the ReLU applied here, the output counts as read in backward
    /// (the ReLU's mask, as for the two layers apart), though backward takes the mask's signs
    /// from the input and the forward's scale and shift.
    public var bufferUse: BufferUse { BufferUse(overwritesOutputGradient: true, readsOutputInBackward: appliesReLU) }
    public let name: String
    public let channels: Int
    public var statistics: BatchNormStatistics
    public var needsInputGradient = true
    /// Train-mode forward without touching the running statistics (for measuring
    /// train-mode-BN accuracy on the test set).
    public var freezesStatistics = false
    /// ε recorded with weights trained elsewhere (snapshot metadata `bn_epsilon`); nil: the
    /// statistics convention's own.
    public var epsilonOverride: Float?
    public var epsilon: Float { epsilonOverride ?? statistics.epsilon }
    /// Set by `fuseBatchNormReLU` when a ReLU follows: forward writes max(y, 0) and backward
    /// masks dy by that output before its own sums, so the ReLU (then `absorbed`) costs no
    /// pass over the activation. Results are bit for bit those of the two layers apart.
    public internal(set) var appliesReLU = false

    public let weight: Parameter   // γ (C)
    public let bias: Parameter     // β (C)
    public let runningMean: StateBuffer
    public let runningVar: StateBuffer
    public let batchesTracked: StateBuffer

    private var output: FloatBuffer           // (C, N, H, W), in the workspace (perhaps the shared one)
    private let workspace: Workspace
    /// Set by `Network.recomputeNormalizedOutputs`: the output goes to a buffer every such
    /// BatchNorm shares, read only by the next layer's forward; backward writes it back from the
    /// kept input (`materializeOutput`). One activation-sized buffer per layer fewer.
    public private(set) var sharesOutput = false
    /// The workspace's count of writes to the shared buffer when this layer's training output
    /// was last written there (nil: not there now, or never).
    private var writtenAt: Int?
    private let forwardScale = FloatBuffer()  // (C) γ/σ of the last training forward
    private let forwardShift = FloatBuffer()  // (C) β − mean·γ/σ of the last training forward
    private let means = FloatBuffer()         // (C) batch mean, kept for backward
    let foldScale = FloatBuffer()             // (C) eval-mode scale, when folded (EvaluationFold.swift)
    let foldShift = FloatBuffer()             // (C) eval-mode shift
    private let inverseStd = FloatBuffer()    // (C)
    /// The train-mode input, from which backward recomputes x̂ = (x − mean)/σ: storing x̂
    /// would cost one activation-sized buffer (and one write) per BatchNorm layer.
    private var input: Activation?

    public init(name: String, channels: Int, statistics: BatchNormStatistics, workspace: Workspace = Workspace()) {
        self.name = name; self.channels = channels; self.statistics = statistics
        output = workspace.buffer(name, "output")
        self.workspace = workspace
        weight = Parameter(name: "\(name).weight", shape: [channels], decays: true)
        bias = Parameter(name: "\(name).bias", shape: [channels], decays: true)
        runningMean = StateBuffer(name: "\(name).running_mean", shape: [channels])
        runningVar = StateBuffer(name: "\(name).running_var", shape: [channels])
        batchesTracked = StateBuffer(name: "\(name).num_batches_tracked", shape: [], isInteger: true)
        weight.value.fill(1)
        runningVar.value.fill(statistics == .pytorch ? 1 : 0)
    }

    public var parameters: [Parameter] { [weight, bias] }
    public var stateBuffers: [StateBuffer] { [runningMean, runningVar, batchesTracked] }

    public func outputShape(for s: Shape) throws -> Shape {
        guard s.channels == channels else { throw EngineError("\(name): expects \(channels) channels, got \(s.channels)") }
        return s
    }

    public func forward(_ x: Activation, training: Bool) -> Activation {
        let s = x.shape, p = s.plane
        output.ensure(count: s.count)
        let eps = epsilon
        let src = x.buffer.pointer, dst = output.pointer
        let gamma = weight.value.pointer, beta = bias.value.pointer
        if training {
            input = x
            means.ensure(count: channels)
            inverseStd.ensure(count: channels)
            forwardScale.ensure(count: channels)
            forwardShift.ensure(count: channels)
            let scales = forwardScale.pointer, shifts = forwardShift.pointer
            let momentum = statistics.update
            let rm = runningMean.value.pointer, rv = runningVar.value.pointer
            let meanOut = means.pointer, istdOut = inverseStd.pointer
            let freeze = freezesStatistics, stats = statistics, relu = appliesReLU
            Parallel.forEach(channels) { range in
            for c in range {
                let xs = src + c * p
                // Two passes: mean, then the centred variance (no cancellation).
                let mean = planeSum(xs, count: p) / Float(p)
                let variance = planeSquaredDeviations(xs, count: p, center: mean) / Float(p)
                let istd = 1 / (variance + eps).squareRoot()
                meanOut[c] = mean
                istdOut[c] = istd
                let scale = gamma[c] * istd, shift = beta[c] - mean * scale
                scales[c] = scale
                shifts[c] = shift
                BatchNorm2D.scaleAndShift(xs, into: dst + c * p, count: p, scale: scale, shift: shift, relu: relu)
                guard !freeze else { continue }
                let unbiased = stats == .pytorch && p > 1 ? variance * Float(p) / Float(p - 1) : variance
                rm[c] = (1 - momentum) * rm[c] + momentum * mean
                rv[c] = (1 - momentum) * rv[c] + momentum * unbiased
            }
            }
            if !freezesStatistics { batchesTracked.value[0] += 1 }
            if sharesOutput { writtenAt = workspace.recordSharedOutputWrite() }
        } else {
            if sharesOutput { _ = workspace.recordSharedOutputWrite(); writtenAt = nil }
            let rm = runningMean.value.pointer, rv = runningVar.value.pointer, relu = appliesReLU
            Parallel.forEach(channels) { range in
                for c in range {
                    let (scale, shift) = BatchNorm2D.evaluationAffine(mean: rm[c], variance: rv[c], gamma: gamma[c], beta: beta[c], epsilon: eps)
                    BatchNorm2D.scaleAndShift(src + c * p, into: dst + c * p, count: p, scale: scale, shift: shift, relu: relu)
                }
            }
        }
        return Activation(output, s)
    }

    /// What the last training forward's output is made from, for a layer that reads it in
    /// backward without it being written again: y = x·scale[c] + shift[c] per channel c (product
    /// and sum rounded apart), then max(y, 0) when `relu`; nil before a training forward.
    var outputRecipe: (input: Activation, scale: UnsafePointer<Float>, shift: UnsafePointer<Float>, relu: Bool)? {
        input.map { ($0, UnsafePointer(forwardScale.pointer), UnsafePointer(forwardShift.pointer), appliesReLU) }
    }

    /// Gives this layer's output the shared buffer (`Network.recomputeNormalizedOutputs`).
    func shareOutput(_ buffer: FloatBuffer) {
        output = buffer
        sharesOutput = true
        writtenAt = nil
    }

    /// Makes the output buffer hold the last training forward's output again, when it lives in
    /// the shared buffer and another layer has written there since: y = x·scale + shift (and
    /// the ReLU) from the kept input with the forward's own scale and shift, so the same bits.
    /// Called by the layer reading that output in backward, and by this layer's own backward.
    func materializeOutput() {
        guard sharesOutput, writtenAt != workspace.sharedOutputWrites else { return }
        guard let x = input else { preconditionFailure("\(name): its output is wanted before a train-mode forward") }
        let p = x.shape.plane
        output.ensure(count: x.shape.count)
        let (src, dst, scales, shifts, relu) = (x.buffer.pointer, output.pointer, forwardScale.pointer, forwardShift.pointer, appliesReLU)
        Parallel.forEach(channels) { range in
            for c in range {
                BatchNorm2D.scaleAndShift(src + c * p, into: dst + c * p, count: p, scale: scales[c], shift: shifts[c], relu: relu)
            }
        }
        writtenAt = workspace.recordSharedOutputWrite()
    }

    /// The eval-mode forward per channel as y = x·scale + shift (one formula for the layer's
    /// own pass and for a fold into the convolution before it).
    @inline(__always)
    static func evaluationAffine(mean: Float, variance: Float, gamma: Float, beta: Float, epsilon: Float) -> (scale: Float, shift: Float) {
        let istd = 1 / (variance + epsilon).squareRoot()
        let scale = gamma * istd
        return (scale, beta - mean * scale)
    }

    /// ys[i] = xs[i]·scale + shift, and max(·, 0) when `relu` (eight lanes with bit masks, the
    /// values ReLU.mask would leave: a non-positive or NaN result becomes +0).
    @inline(__always)
    static func scaleAndShift(_ xs: UnsafePointer<Float>, into ys: UnsafeMutablePointer<Float>, count p: Int,
                              scale: Float, shift: Float, relu: Bool) {
        guard relu else {
            for i in 0..<p { ys[i] = xs[i] * scale + shift }
            return
        }
        let (rx, ry) = (UnsafeRawPointer(xs), UnsafeMutableRawPointer(ys))
        let (s, t) = (SIMD8<Float>(repeating: scale), SIMD8<Float>(repeating: shift))
        var i = 0
        while i + 8 <= p {
            let y = rx.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self) * s + t
            let keep = unsafeBitCast(y .> SIMD8<Float>(repeating: 0), to: SIMD8<Int32>.self)   // all ones or zero
            ry.storeBytes(of: unsafeBitCast(unsafeBitCast(y, to: SIMD8<Int32>.self) & keep, to: SIMD8<Float>.self),
                          toByteOffset: i * 4, as: SIMD8<Float>.self)
            i += 8
        }
        while i < p {
            let y = xs[i] * scale + shift
            ys[i] = y > 0 ? y : 0
            i += 1
        }
    }

    /// Train-mode backward: dγ = Σ dy·x̂, dβ = Σ dy, dx = γ/σ · (dy − dβ/P − x̂·dγ/P), with
    /// x̂ recomputed from the input. dx is written over dy (no layer reads dy afterwards; a
    /// residual unit copies it for its shortcut first, as it must for the in-place SphereConv).
    public func backward(_ dy: Activation) -> Activation? {
        guard let x = input else { preconditionFailure("\(name): backward before a train-mode forward") }
        let s = dy.shape, p = s.plane
        let g = dy.buffer.pointer, xs = x.buffer.pointer
        let (dgammas, dbetas, gammas, istd, mean) = (weight.grad.pointer, bias.grad.pointer, weight.value.pointer,
                                                     inverseStd.pointer, means.pointer)
        // The ReLU's mask: the signs of the forward's own arithmetic on the input (read here
        // anyway), so the output need not be kept (it may live in the shared buffer).
        let (scales, shifts) = (forwardScale.pointer, forwardShift.pointer)
        let wantsInput = needsInputGradient, relu = appliesReLU
        Parallel.forEach(channels) { range in
            for c in range {
                let gs = g + c * p, xc = xs + c * p
                // With the ReLU applied here, dy is first masked where the output was not positive.
                let (centredDot, dbeta) = relu
                    ? planeMaskedCentredDotAndSum(gs, xc, count: p, center: mean[c], keyScale: scales[c], keyShift: shifts[c])
                    : planeCentredDotAndSum(gs, xc, count: p, center: mean[c])
                let dgamma = centredDot * istd[c]
                dgammas[c] += dgamma
                dbetas[c] += dbeta
                guard wantsInput else { continue }
                let k = gammas[c] * istd[c]
                let mg = dbeta / Float(p), mgx = dgamma / Float(p) * istd[c], m = mean[c]
                for i in 0..<p { gs[i] = k * (gs[i] - mg - (xc[i] - m) * mgx) }
            }
        }
        return needsInputGradient ? dy : nil
    }
}
