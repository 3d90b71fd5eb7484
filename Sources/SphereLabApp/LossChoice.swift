import Engine

/// The loss a user picks by name: the score head plus the cross-entropy tweaks.
public struct LossChoice: Equatable, Sendable {
    public var head: HeadKind
    public var crossEntropy: CrossEntropyOptions

    /// `softmax` (plain), `softmax-authors` (label smoothing 0.01, p + 1e-4), `w-softmax`,
    /// `ga-softmax[:cosine|linear|sigmoid]` with `margin` (the operator follows the conv
    /// variant when not given).
    public init(parsing text: String, margin: Int = 1, variant: ConvVariant = .cosine) throws {
        let parts = text.lowercased().split(separator: ":", maxSplits: 1).map(String.init)
        switch parts.first ?? "" {
        case "softmax": (head, crossEntropy) = (.linear, .plain)
        case "softmax-authors": (head, crossEntropy) = (.linear, .authors)
        case "w-softmax": (head, crossEntropy) = (.weightNormalized, .plain)
        case "ga-softmax":
            let op: AngularOperator
            switch parts.count > 1 ? parts[1] : "" {
            case "cosine": op = .cosine
            case "linear": op = .linear
            case "sigmoid": op = .sigmoid(k: Double(ConvVariant.defaultSigmoidK))
            case "": op = LossChoice.operatorFollowing(variant)
            default: throw EngineError("unknown GA-Softmax operator '\(parts[1])': use cosine, linear or sigmoid")
            }
            guard (1...HeadKind.maximumMargin).contains(margin) else {
                throw EngineError("margin \(margin) is out of range 1…\(HeadKind.maximumMargin)")
            }
            (head, crossEntropy) = (.generalizedAngular(margin: margin, op: op), .plain)
        default:
            throw EngineError("unknown loss '\(text)': use softmax, softmax-authors, w-softmax or ga-softmax[:cosine|linear|sigmoid] (with --margin)")
        }
    }

    public init(head: HeadKind, crossEntropy: CrossEntropyOptions) { self.head = head; self.crossEntropy = crossEntropy }

    static func operatorFollowing(_ v: ConvVariant) -> AngularOperator {
        switch v {
        case .linear: return .linear
        case .sigmoid(let k): return .sigmoid(k: Double(k))
        case .learnableSigmoid: return .sigmoid(k: Double(ConvVariant.defaultSigmoidK))
        case .conv, .cosine: return .cosine
        }
    }

    public var name: String {
        switch head {
        case .linear: return crossEntropy == .authors ? "softmax-authors" : "softmax"
        case .weightNormalized: return "w-softmax"
        case .generalizedAngular(let m, let op):
            let o: String
            switch op { case .cosine: o = "cosine"; case .linear: o = "linear"; case .sigmoid: o = "sigmoid" }
            return "ga-softmax:\(o) m=\(m)"
        }
    }
}
