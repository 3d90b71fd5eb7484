import Foundation

/// The score layer and its softmax cross-entropy for one batch: features f (N, D) and class
/// weights W (C, D) in, logits and the mean loss out; the backward gives ∂loss/∂f and ∂loss/∂W.
///
/// W is PyTorch's `score.weight` (C, D, 1, 1) flattened. Generic over the scalar so tests run in
/// Double and training in Float; per-logit maths (angles, exp, log) always runs in Double —
/// it is N·C values, negligible next to the N·C·D row loops, which run in `Scalar`.
///
/// Norms use ‖w_j‖ = sqrt(Σw² + 1e-4) and ‖f‖ = sqrt(Σf² + 1e-4); GA-Softmax clamps
/// cos θ to [−1 + 1e-6, 1 − 1e-6] and passes no gradient through a clamped cosine.
///
/// All working memory is allocated once in `init` for batches up to `maxBatch`; `forward` and
/// `backward` allocate nothing. `backward` differentiates the loss of the latest `forward`.
public struct ScoreHead<Scalar: BinaryFloatingPoint & Sendable>: Sendable {
    public private(set) var kind: HeadKind
    public private(set) var options: CrossEntropyOptions
    public let maxBatch: Int
    public let features: Int
    public let classes: Int

    /// ε inside both norms (spherenet.md §1).
    public static var normEpsilon: Double { 1e-4 }
    /// δ of the clamp of cos θ to [−1 + δ, 1 − δ]; keeps dθ/dc = −1/sin θ below ~710.
    public static var cosineClamp: Double { 1e-6 }

    private let layout: ScoreHeadLayout
    /// What the forward keeps for the backward, at `layout`'s offsets.
    private var cache: [Double]
    /// Batch size of the latest forward; nil before the first and after a reconfiguration.
    private var lastForwardBatch: Int?

    public init(
        kind: HeadKind, options: CrossEntropyOptions = .plain,
        maxBatch: Int, features: Int, classes: Int
    ) throws(HeadError) {
        try kind.validate()
        try options.validate()
        guard maxBatch >= 1 else { throw .invalidSize(field: "maxBatch", value: maxBatch, allowed: "1 or more") }
        guard features >= 1 else { throw .invalidSize(field: "features", value: features, allowed: "1 or more") }
        guard classes >= 2 else { throw .invalidSize(field: "classes", value: classes, allowed: "2 or more") }
        self.kind = kind
        self.options = options
        self.maxBatch = maxBatch
        self.features = features
        self.classes = classes
        layout = ScoreHeadLayout(maxBatch: maxBatch, classes: classes)
        cache = [Double](repeating: 0, count: layout.count)
    }

    /// Switches the head (e.g. a live change from the controls panel); the next call must be
    /// a forward.
    public mutating func setKind(_ newKind: HeadKind) throws(HeadError) {
        try newKind.validate()
        kind = newKind
        lastForwardBatch = nil
    }

    /// Switches the loss tweaks; the next call must be a forward.
    public mutating func setOptions(_ newOptions: CrossEntropyOptions) throws(HeadError) {
        try newOptions.validate()
        options = newOptions
        lastForwardBatch = nil
    }

    /// Computes the logits and the loss of one batch.
    /// - Parameters:
    ///   - f: (n, D) features, one row per example.
    ///   - w: (C, D) class weights.
    ///   - labels: (n) class indices in 0..<C.
    ///   - training: applies the GA-Softmax margin to the loss; false gives the un-margined loss.
    ///   - logits: (n, C) written: the decision scores without margin (argmax = prediction).
    /// - Returns: the loss averaged over the batch and how many argmax predictions hit the label.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public mutating func forward(
        features f: UnsafePointer<Scalar>, weights w: UnsafePointer<Scalar>,
        labels: UnsafePointer<Int32>, batch n: Int, training: Bool,
        logits: UnsafeMutablePointer<Scalar>
    ) throws(HeadError) -> (loss: Double, correct: Int) {
        guard (1...maxBatch).contains(n) else {
            throw .invalidSize(field: "batch", value: n, allowed: "1...\(maxBatch) (the head's maxBatch)")
        }
        try CrossEntropy.checkLabels(labels, batch: n, classes: classes)
        lastForwardBatch = nil
        let (d, c, kind, options, at) = (features, classes, kind, options, layout)
        let result = cache.withUnsafeMutableBufferPointer { buffer -> (loss: Double, correct: Int) in
            // Non-empty by construction (classes ≥ 2), so the base address exists.
            let base = buffer.baseAddress!
            let z = base + at.logits                          // (n, C) logits the loss sees
            for i in 0..<n {
                base[at.labels + i] = Double(labels[i])
                for j in 0..<c {
                    z[i * c + j] = Double(HeadRowKernels.dot(f + i * d, w + j * d, d))
                }
            }
            switch kind {
            case .linear:
                Self.store(z, n * c, into: logits)
            case .weightNormalized:
                let a = base + at.weightNorms                  // (C)
                for j in 0..<c { a[j] = HeadRowKernels.norm(w + j * d, d, epsilon: Self.normEpsilon) }
                for i in 0..<n { for j in 0..<c { z[i * c + j] /= a[j] } }
                Self.store(z, n * c, into: logits)
            case let .generalizedAngular(margin, op):
                Self.angularLogits(
                    features: f, weights: w, batch: n, width: d, classes: c,
                    margin: training ? margin : 1, op: op, base: base, layout: at, logits: logits)
            }
            var total = 0.0
            var correct = 0
            for i in 0..<n {
                let label = Int(labels[i])
                total += CrossEntropy.rowLoss(
                    logits: z + i * c, classes: c, label: label, options: options,
                    probabilities: base + at.probabilities + i * c)
                if CrossEntropy.argmax(logits + i * c, c) == label { correct += 1 }
            }
            return (total / Double(n), correct)
        }
        lastForwardBatch = n
        return result
    }

    /// Gradient of the latest forward's loss (the mean over its batch).
    /// - Parameters:
    ///   - f, w: the same features and weights the forward saw.
    ///   - dFeatures: (n, D) overwritten with ∂loss/∂f.
    ///   - dWeights: (C, D) ∂loss/∂W is ADDED to it (the caller zeroes it once per step).
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public mutating func backward(
        features f: UnsafePointer<Scalar>, weights w: UnsafePointer<Scalar>, batch n: Int,
        dFeatures: UnsafeMutablePointer<Scalar>, dWeights: UnsafeMutablePointer<Scalar>
    ) throws(HeadError) {
        guard let forwarded = lastForwardBatch, forwarded == n else {
            throw .backwardWithoutForward(batch: n, lastForwardBatch: lastForwardBatch)
        }
        let (d, c, kind, options, at) = (features, classes, kind, options, layout)
        cache.withUnsafeMutableBufferPointer { buffer in
            let base = buffer.baseAddress!
            let z = base + at.logits
            // gradient holds ∂loss/∂z first, then ∂loss/∂u with u_ij = w_j·f_i.
            let gradient = base + at.logitGradient             // (n, C)
            let beta = base + at.featureCoefficients           // (n)  ∂loss/∂f_i has a β_i·f_i term
            let gamma = base + at.weightCoefficients           // (C)  ∂loss/∂w_j has a γ_j·w_j term
            for i in 0..<n {
                CrossEntropy.rowGradient(
                    probabilities: base + at.probabilities + i * c, classes: c,
                    label: Int(base[at.labels + i]), options: options, scale: 1 / Double(n),
                    into: gradient + i * c)
                beta[i] = 0
            }
            for j in 0..<c { gamma[j] = 0 }

            switch kind {
            case .linear:
                break
            case .weightNormalized:
                // z = u/a, a = ‖w‖: ∂z/∂u = 1/a, ∂z/∂w = −u·w/a³ = −z·w/a².
                let a = base + at.weightNorms
                for i in 0..<n {
                    for j in 0..<c {
                        let dz = gradient[i * c + j]
                        gamma[j] -= dz * z[i * c + j] / (a[j] * a[j])
                        gradient[i * c + j] = dz / a[j]
                    }
                }
            case .generalizedAngular:
                Self.angularChain(batch: n, classes: c, base: base, layout: at)
            }

            for i in 0..<n {
                let row = dFeatures + i * d
                HeadRowKernels.assignScaled(Scalar(beta[i]), f + i * d, to: row, d)
                for j in 0..<c {
                    HeadRowKernels.addScaled(Scalar(gradient[i * c + j]), w + j * d, to: row, d)
                }
            }
            for j in 0..<c {
                let row = dWeights + j * d
                if gamma[j] != 0 { HeadRowKernels.addScaled(Scalar(gamma[j]), w + j * d, to: row, d) }
                for i in 0..<n {
                    HeadRowKernels.addScaled(Scalar(gradient[i * c + j]), f + i * d, to: row, d)
                }
            }
        }
    }
}

extension ScoreHead {
    /// Writes Double values out as `Scalar`.
    @inline(__always)
    static func store(_ values: UnsafePointer<Double>, _ count: Int, into out: UnsafeMutablePointer<Scalar>) {
        for k in 0..<count { out[k] = Scalar(values[k]) }
    }

    /// GA-Softmax forward. On entry the cache's logits hold u_ij = w_j·f_i; on exit they hold
    /// ‖f_i‖·g(θ_ij) with g(m·θ) for the target when `margin` > 1, and `logits` holds the
    /// un-margined decision scores. Keeps the norms, clamped cosines and slopes for the backward.
    static func angularLogits(
        features f: UnsafePointer<Scalar>, weights w: UnsafePointer<Scalar>,
        batch n: Int, width d: Int, classes c: Int, margin: Int, op: AngularOperator,
        base: UnsafeMutablePointer<Double>, layout at: ScoreHeadLayout,
        logits: UnsafeMutablePointer<Scalar>
    ) {
        let z = base + at.logits
        let a = base + at.weightNorms
        let cosines = base + at.cosines
        let slopes = base + at.slopes
        let upper = 1 - cosineClamp, lower = -1 + cosineClamp
        for j in 0..<c { a[j] = HeadRowKernels.norm(w + j * d, d, epsilon: normEpsilon) }
        for i in 0..<n {
            let b = HeadRowKernels.norm(f + i * d, d, epsilon: normEpsilon)
            base[at.featureNorms + i] = b
            let label = Int(base[at.labels + i])
            for j in 0..<c {
                let k = i * c + j
                var cosine = z[k] / (a[j] * b)
                var clamped = false
                // Written as comparisons so a NaN cosine stays NaN instead of being clamped.
                if cosine > upper { cosine = upper; clamped = true }
                if cosine < lower { cosine = lower; clamped = true }
                let plain = op.response(cosine: cosine, margin: 1)
                let used = j == label && margin > 1 ? op.response(cosine: cosine, margin: margin) : plain
                logits[k] = Scalar(b * plain.value)
                z[k] = b * used.value
                cosines[k] = cosine
                slopes[k] = clamped ? 0 : used.slope
            }
        }
    }

    /// GA-Softmax backward. On entry the cache's gradient holds ∂loss/∂z; on exit it holds
    /// ∂loss/∂u_ij, with the β_i and γ_j terms that ‖f_i‖ and ‖w_j‖ contribute.
    ///
    /// With z = b·h(c), c = u/(a·b), G = ∂loss/∂c = ∂loss/∂z·b·h′(c):
    /// ∂loss/∂u = G/(a·b); ∂loss/∂b = Σ_j ∂loss/∂z_j·h_j − G_j·c_j/b, and ∂b/∂f = f/b;
    /// ∂loss/∂a = −G·c/a, and ∂a/∂w = w/a.
    static func angularChain(batch n: Int, classes c: Int, base: UnsafeMutablePointer<Double>, layout at: ScoreHeadLayout) {
        let z = base + at.logits
        let gradient = base + at.logitGradient
        let a = base + at.weightNorms
        let cosines = base + at.cosines
        let slopes = base + at.slopes
        let beta = base + at.featureCoefficients
        let gamma = base + at.weightCoefficients
        for i in 0..<n {
            let b = base[at.featureNorms + i]
            var normGradient = 0.0
            for j in 0..<c {
                let k = i * c + j
                let dz = gradient[k]
                let dCosine = dz * b * slopes[k]
                normGradient += dz * z[k] / b - dCosine * cosines[k] / b
                gamma[j] -= dCosine * cosines[k] / (a[j] * a[j])
                gradient[k] = dCosine / (a[j] * b)
            }
            beta[i] = normGradient / b
        }
    }
}

/// Offsets into a score head's cache, each region sized for the largest batch.
struct ScoreHeadLayout: Sendable {
    let weightNorms: Int          // (C)     ‖w_j‖
    let featureNorms: Int         // (N)     ‖f_i‖ (GA-Softmax)
    let labels: Int               // (N)     labels of the latest forward
    let logits: Int               // (N, C)  logits the loss saw (margin applied in training)
    let probabilities: Int        // (N, C)  softmax of those logits
    let cosines: Int              // (N, C)  clamped cos θ_ij (GA-Softmax)
    let slopes: Int               // (N, C)  ∂(z_ij/‖f_i‖)/∂cos θ_ij, 0 where clamped (GA-Softmax)
    let logitGradient: Int        // (N, C)  backward: ∂loss/∂z, then ∂loss/∂(w_j·f_i)
    let featureCoefficients: Int  // (N)     backward: β_i
    let weightCoefficients: Int   // (C)     backward: γ_j
    let count: Int

    init(maxBatch n: Int, classes c: Int) {
        weightNorms = 0
        featureNorms = weightNorms + c
        labels = featureNorms + n
        logits = labels + n
        probabilities = logits + n * c
        cosines = probabilities + n * c
        slopes = cosines + n * c
        logitGradient = slopes + n * c
        featureCoefficients = logitGradient + n * c
        weightCoefficients = featureCoefficients + n
        count = weightCoefficients + c
    }
}
