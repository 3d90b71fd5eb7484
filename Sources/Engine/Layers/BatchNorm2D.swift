/// How BatchNorm keeps its running statistics (spherenet.md §2).
public enum BatchNormStatistics: String, Sendable, Codable, CaseIterable {
    /// PyTorch: ε 1e-5, momentum 0.1, running mean 0 / variance 1 at start, unbiased variance.
    case pytorch
    /// The authors' TensorFlow code: ε 1e-3, decay 0.999 from zero, biased variance, no
    /// debiasing — evaluation-mode accuracy lags early in training.
    case paper

    var epsilon: Float { self == .pytorch ? 1e-5 : 1e-3 }
    /// Weight of the new batch statistic in the running average.
    var update: Float { self == .pytorch ? 0.1 : 0.001 }
}

/// Batch normalisation per channel over (N, H, W) — one contiguous plane per channel.
public final class BatchNorm2D: Layer {
    public let name: String
    public let channels: Int
    public var statistics: BatchNormStatistics
    public var needsInputGradient = true
    /// Train-mode forward without touching the running statistics (for measuring
    /// train-mode-BN accuracy on the test set).
    public var freezesStatistics = false

    public let weight: Parameter   // γ (C)
    public let bias: Parameter     // β (C)
    public let runningMean: StateBuffer
    public let runningVar: StateBuffer
    public let batchesTracked: StateBuffer

    private let output = FloatBuffer()        // (C, N, H, W)
    private let normalized = FloatBuffer()    // (C, N, H, W) x̂, kept for backward
    private let inverseStd = FloatBuffer()    // (C)
    private let inputGradient = FloatBuffer() // (C, N, H, W)

    public init(name: String, channels: Int, statistics: BatchNormStatistics) {
        self.name = name; self.channels = channels; self.statistics = statistics
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
        let eps = statistics.epsilon
        let src = x.buffer.pointer, dst = output.pointer
        let gamma = weight.value.pointer, beta = bias.value.pointer
        if training {
            normalized.ensure(count: s.count)
            inverseStd.ensure(count: channels)
            let xhat = normalized.pointer
            let momentum = statistics.update
            let rm = runningMean.value.pointer, rv = runningVar.value.pointer, istdOut = inverseStd.pointer
            let freeze = freezesStatistics, stats = statistics
            Parallel.forEach(channels) { range in
            for c in range {
                let xs = src + c * p
                // Two passes: mean, then the centred variance (no cancellation).
                let mean = planeSum(xs, count: p) / Float(p)
                let variance = planeSquaredDeviations(xs, count: p, center: mean) / Float(p)
                let istd = 1 / (variance + eps).squareRoot()
                istdOut[c] = istd
                let g = gamma[c], b = beta[c]
                let xh = xhat + c * p, ys = dst + c * p
                for i in 0..<p {
                    let v = (xs[i] - mean) * istd
                    xh[i] = v
                    ys[i] = g * v + b
                }
                guard !freeze else { continue }
                let unbiased = stats == .pytorch && p > 1 ? variance * Float(p) / Float(p - 1) : variance
                rm[c] = (1 - momentum) * rm[c] + momentum * mean
                rv[c] = (1 - momentum) * rv[c] + momentum * unbiased
            }
            }
            if !freezesStatistics { batchesTracked.value[0] += 1 }
        } else {
            let rm = runningMean.value.pointer, rv = runningVar.value.pointer
            Parallel.forEach(channels) { range in
                for c in range {
                    let istd = 1 / (rv[c] + eps).squareRoot()
                    let scale = gamma[c] * istd, shift = beta[c] - rm[c] * scale
                    let xs = src + c * p, ys = dst + c * p
                    for i in 0..<p { ys[i] = xs[i] * scale + shift }
                }
            }
        }
        return Activation(output, s)
    }

    /// Train-mode backward: dγ = Σ dy·x̂, dβ = Σ dy, dx = γ/σ · (dy − dβ/P − x̂·dγ/P).
    public func backward(_ dy: Activation) -> Activation? {
        let s = dy.shape, p = s.plane
        let g = dy.buffer.pointer, xhat = normalized.pointer
        if needsInputGradient { inputGradient.ensure(count: s.count) }
        let dx = inputGradient.pointer
        let (dgammas, dbetas, gammas, istd) = (weight.grad.pointer, bias.grad.pointer, weight.value.pointer, inverseStd.pointer)
        let wantsInput = needsInputGradient
        Parallel.forEach(channels) { range in
            for c in range {
                let gs = g + c * p, xh = xhat + c * p
                let (dgamma, dbeta) = planeDotAndSum(gs, xh, count: p)
                dgammas[c] = dgamma
                dbetas[c] = dbeta
                guard wantsInput else { continue }
                let k = gammas[c] * istd[c]
                let mg = dbeta / Float(p), mgx = dgamma / Float(p)
                let ds = dx + c * p
                for i in 0..<p { ds[i] = k * (gs[i] - mg - xh[i] * mgx) }
            }
        }
        return needsInputGradient ? Activation(inputGradient, s) : nil
    }
}
