/// The operator a convolution applies: plain, or one of the SphereConv operators g(θ)
/// (spherenet.md §1). Switchable between steps on the same weights.
public enum ConvVariant: Sendable, Equatable, Hashable, Codable, CustomStringConvertible {
    case conv
    case cosine
    case linear
    case sigmoid(k: Float)
    case learnableSigmoid

    public static let defaultSigmoidK: Float = 0.3
    /// All variants in the order the `v` key cycles through them.
    public static let cycle: [ConvVariant] = [.conv, .cosine, .linear, .sigmoid(k: defaultSigmoidK), .learnableSigmoid]

    public var isSphere: Bool { self != .conv }

    /// The name used on the command line and in telemetry.
    public var name: String {
        switch self {
        case .conv: return "conv"
        case .cosine: return "cosine"
        case .linear: return "linear"
        case .sigmoid: return "sigmoid"
        case .learnableSigmoid: return "lr-sigmoid"
        }
    }

    public var description: String {
        if case .sigmoid(let k) = self, k != ConvVariant.defaultSigmoidK { return "sigmoid(k=\(k))" }
        return name
    }

    /// Parses `conv`, `cosine`, `linear`, `sigmoid`, `sigmoid:0.1` (k), `lr-sigmoid`.
    public init(parsing text: String) throws {
        let lower = text.lowercased()
        switch lower {
        case "conv", "plain", "cnn": self = .conv
        case "cosine", "cos": self = .cosine
        case "linear": self = .linear
        case "sigmoid": self = .sigmoid(k: ConvVariant.defaultSigmoidK)
        case "lr-sigmoid", "learnable-sigmoid", "learnable": self = .learnableSigmoid
        default:
            if lower.hasPrefix("sigmoid:"), let k = Float(lower.dropFirst("sigmoid:".count)), k.isFinite, k > 0, k <= 100 {
                self = .sigmoid(k: k)
            } else {
                throw EngineError("unknown variant '\(text)': use conv, cosine, linear, sigmoid, sigmoid:K (0 < K ≤ 100) or lr-sigmoid")
            }
        }
    }

    /// Index in the C kernels' numbering (0 cosine, 1 linear, 2 sigmoid).
    var kernelIndex: Int32 {
        switch self {
        case .conv, .cosine: return 0
        case .linear: return 1
        case .sigmoid, .learnableSigmoid: return 2
        }
    }

    /// The next variant for the `v` key.
    public var next: ConvVariant {
        let i = ConvVariant.cycle.firstIndex { $0.name == name } ?? 0
        return ConvVariant.cycle[(i + 1) % ConvVariant.cycle.count]
    }
}
