import Foundation
import Engine

/// The controls panel's rows: how each shows its value, which choices ←/→ cycle through,
/// and how typed text becomes trainer commands (invalid text is refused with a message).
public enum Control: Int, CaseIterable, Sendable {
    case variant, learningRate, optimizer, momentum, weightDecay, orthogonality, loss, margin
    case batchSize, evalEvery, smoothing, trainModeBN

    public var label: String {
        switch self {
        case .variant: return "variant"
        case .learningRate: return "learning rate"
        case .optimizer: return "optimizer"
        case .momentum: return "momentum/β1"
        case .weightDecay: return "weight decay"
        case .orthogonality: return "orthogonality"
        case .loss: return "loss"
        case .margin: return "GA margin m"
        case .batchSize: return "batch size"
        case .evalEvery: return "eval every"
        case .smoothing: return "smoothing"
        case .trainModeBN: return "train-BN acc"
        }
    }

    public func value(in state: AppState) -> String {
        let h = state.telemetry.hyper
        switch self {
        case .variant: return state.currentVariant.description
        case .learningRate: return Control.number(Double(state.telemetry.learningRate))
        case .optimizer: return h.optimizer.name
        case .momentum:
            switch h.optimizer {
            case .adam(let b1, _, _): return Control.number(Double(b1))
            case .sgd(let m): return Control.number(Double(m))
            }
        case .weightDecay: return Control.number(Double(h.weightDecay))
        case .orthogonality: return Control.number(Double(h.orthogonality))
        case .loss: return state.currentLoss.name.components(separatedBy: " ").first ?? ""
        case .margin:
            if case .generalizedAngular(let m, _) = state.currentLoss.head { return String(m) }
            return "–"
        case .batchSize: return String(h.batchSize)
        case .evalEvery: return String(h.evalEvery)
        case .smoothing: return String(format: "%.2f", state.smoothing)
        case .trainModeBN: return state.trainModeBN ? "on" : "off"
        }
    }

    /// Values ←/→ step through (nil: free text only).
    public var choices: [String]? {
        switch self {
        case .variant: return ConvVariant.cycle.map(\.name)
        case .optimizer: return ["adam", "sgd"]
        case .loss: return ["softmax", "softmax-authors", "w-softmax", "ga-softmax"]
        case .trainModeBN: return ["off", "on"]
        case .smoothing: return ["0.00", "0.60", "0.90", "0.95", "0.99"]
        default: return nil
        }
    }

    static func number(_ v: Double) -> String {
        if v == 0 { return "0" }
        let a = abs(v)
        return (a >= 1e-3 && a < 1e4) ? String(format: "%.4g", v) : String(format: "%.2e", v)
    }

    /// Turns typed text into the effects that apply it, or throws a message saying why not.
    public func parse(_ text: String, in state: AppState) throws -> [AppEffect] {
        let t = text.trimmingCharacters(in: .whitespaces)
        let h = state.telemetry.hyper
        switch self {
        case .variant: return [.send(.setVariant(try ConvVariant(parsing: t)))]
        case .learningRate:
            return [.send(.setLearningRate(try Settings.learningRate.parse(t)))]
        case .optimizer:
            let momentum: Float
            if case .sgd(let m) = h.optimizer { momentum = m } else { momentum = 0.9 }
            return [.send(.setOptimizer(try OptimizerKind.parse(t, momentum: momentum)))]
        case .momentum:
            let v = try Settings.momentum.parse(t)
            switch h.optimizer {
            case .adam(_, let b2, let eps): return [.send(.setOptimizer(.adam(beta1: v, beta2: b2, epsilon: eps)))]
            case .sgd: return [.send(.setOptimizer(.sgd(momentum: v)))]
            }
        case .weightDecay: return [.send(.setWeightDecay(try Settings.weightDecay.parse(t)))]
        case .orthogonality: return [.send(.setOrthogonality(try Settings.orthogonality.parse(t)))]
        case .loss:
            var margin = 1
            if case .generalizedAngular(let m, _) = state.currentLoss.head { margin = m }
            let choice = try LossChoice(parsing: t, margin: margin, variant: state.currentVariant)
            return [.send(.setHead(choice.head, choice.crossEntropy, label: choice.name))]
        case .margin:
            guard case .generalizedAngular(_, let op) = state.currentLoss.head else {
                throw EngineError("the margin applies to ga-softmax: choose that loss first")
            }
            let m = try Settings.margin.parse(t)
            let choice = LossChoice(head: .generalizedAngular(margin: m, op: op), crossEntropy: state.currentLoss.crossEntropy)
            return [.send(.setHead(choice.head, choice.crossEntropy, label: choice.name))]
        case .batchSize: return [.send(.setBatchSize(try Settings.batchSize.parse(t)))]
        case .evalEvery: return [.send(.setEvalEvery(try Settings.evalEvery.parse(t)))]
        case .smoothing:
            guard let v = Double(t), v >= 0, v <= 0.999 else { throw EngineError("smoothing must be in 0…0.999") }
            return [.setSmoothing(v)]
        case .trainModeBN:
            switch t.lowercased() {
            case "on", "yes", "1", "true": return [.setTrainModeBN(true)]
            case "off", "no", "0", "false": return [.setTrainModeBN(false)]
            default: throw EngineError("type on or off")
            }
        }
    }
}
