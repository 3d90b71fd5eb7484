/// The angular response g(θ) a GA-Softmax head applies to the angle θ between a feature
/// vector and a class weight (spherenet.md §1 and §3).
public enum AngularOperator: Sendable, Codable, Equatable {
    /// g(θ) = cos θ; with a margin m the target uses the monotone extension ψ(mθ).
    case cosine
    /// g(θ) = 1 − 2θ/π.
    case linear
    /// g(θ) = tanh((π/2 − θ)/(2k)) / tanh(π/(4k)); the paper's default k is 0.3.
    case sigmoid(k: Double)
}

/// How the score layer turns features f (one row per example) into class logits.
public enum HeadKind: Sendable, Codable, Equatable {
    /// logit_j = w_j·f: the plain 1×1 convolution without bias.
    case linear
    /// W-Softmax: logit_j = (w_j·f) / sqrt(‖w_j‖² + 1e-4); f is not normalised.
    case weightNormalized
    /// GA-Softmax: logit_j = ‖f‖·g(θ_j); in training the target class uses g(m·θ_y)
    /// (for `.cosine` the monotone extension ψ). `margin` m ≥ 1, 1 meaning no margin.
    case generalizedAngular(margin: Int, op: AngularOperator)

    /// The largest margin accepted. The paper uses 1–4; far larger margins only push the
    /// target logit towards −∞ and make the loss untrainable.
    public static let maximumMargin = 64

    /// Throws if a parameter would make the head's maths meaningless.
    public func validate() throws(HeadError) {
        guard case let .generalizedAngular(margin, op) = self else { return }
        guard (1...Self.maximumMargin).contains(margin) else {
            throw .invalidMargin(margin)
        }
        if case let .sigmoid(k) = op, !(k.isFinite && k > 0) {
            throw .invalidSigmoidSlope(k)
        }
    }
}
