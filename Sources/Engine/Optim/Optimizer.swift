/// Which update rule, with its constants. Changing it mid-run starts fresh moments.
public enum OptimizerKind: Sendable, Codable, Equatable, CustomStringConvertible {
    /// Adam (the authors' default): β1 0.9, β2 0.999, ε 1e-8, bias-corrected.
    case adam(beta1: Float, beta2: Float, epsilon: Float)
    /// SGD with (PyTorch-style) momentum: v ← μv + g, p ← p − lr·v.
    case sgd(momentum: Float)

    public static let adamDefault = OptimizerKind.adam(beta1: 0.9, beta2: 0.999, epsilon: 1e-8)
    public static let sgdDefault = OptimizerKind.sgd(momentum: 0.9)

    public var name: String {
        if case .adam = self { return "adam" }
        return "sgd"
    }
    public var description: String {
        switch self {
        case .adam(let b1, let b2, _): return "adam β1 \(b1) β2 \(b2)"
        case .sgd(let m): return "sgd momentum \(m)"
        }
    }

    public static func parse(_ text: String, momentum: Float? = nil) throws -> OptimizerKind {
        switch text.lowercased() {
        case "adam": return .adamDefault
        case "sgd": return .sgd(momentum: momentum ?? 0.9)
        default: throw EngineError("unknown optimizer '\(text)': use adam or sgd")
        }
    }
}

/// Per-parameter optimizer memory, keyed by the parameter's name so it can be saved next to
/// the weights (`optimizer.safetensors`) and restored.
public final class OptimizerSlot {
    public let first: FloatBuffer    // Adam m, or SGD velocity
    public let second: FloatBuffer   // Adam v (empty for SGD)
    public var step: Int
    init(count: Int, needsSecond: Bool) {
        first = FloatBuffer(count: count)
        second = FloatBuffer(count: needsSecond ? count : 0)
        step = 0
    }
}

/// Applies one update to every parameter from its gradient, adding coupled L2 weight decay
/// (wd·p) to the gradient of decaying parameters first.
public final class Optimizer {
    public private(set) var kind: OptimizerKind
    public var weightDecay: Float
    public private(set) var slots: [String: OptimizerSlot] = [:]

    public init(kind: OptimizerKind, weightDecay: Float) {
        self.kind = kind; self.weightDecay = weightDecay
    }

    /// Switches the rule; moments start from zero (their meaning differs between rules).
    public func reset(kind: OptimizerKind) {
        let sameRule = kind.name == self.kind.name
        self.kind = kind
        if !sameRule { slots.removeAll() }
    }

    func slot(for p: Parameter) -> OptimizerSlot {
        if let s = slots[p.name] { return s }
        let needsSecond: Bool
        if case .adam = kind { needsSecond = true } else { needsSecond = false }
        let s = OptimizerSlot(count: p.count, needsSecond: needsSecond)
        slots[p.name] = s
        return s
    }

    /// Restores a slot read from a snapshot; the lengths must match the parameter's.
    public func restoreSlot(for p: Parameter, first: [Float], second: [Float], step: Int) throws {
        let needsSecond = kind.name == "adam"
        guard first.count == p.count, second.count == (needsSecond ? p.count : 0), step >= 0 else {
            throw EngineError("optimizer state for \(p.name): \(first.count) and \(second.count) values at step \(step), the parameter has \(p.count)")
        }
        let s = OptimizerSlot(count: first.count, needsSecond: needsSecond)
        s.first.copy(from: first)
        if needsSecond { s.second.copy(from: second) }
        s.step = step
        slots[p.name] = s
    }

    /// Σ ½·wd·p² over decaying parameters — the coupled L2 term of the loss.
    public func decayLoss(_ parameters: [Parameter]) -> Double {
        guard weightDecay > 0 else { return 0 }
        var total = 0.0
        for p in parameters where p.decays {
            let v = p.value.pointer
            var s: Float = 0
            for i in 0..<p.count { s += v[i] * v[i] }
            total += Double(s)
        }
        return 0.5 * Double(weightDecay) * total
    }

    /// One update of every parameter by the current rule (`Adam` or `SGD`).
    public func step(_ parameters: [Parameter], learningRate lr: Float) {
        for p in parameters {
            let slot = slot(for: p)
            slot.step += 1
            let wd: Float = p.decays ? weightDecay : 0
            switch kind {
            case .adam(let b1, let b2, let eps):
                Adam(beta1: b1, beta2: b2, epsilon: eps).update(p, slot: slot, learningRate: lr, weightDecay: wd)
            case .sgd(let mu):
                SGD(momentum: mu).update(p, slot: slot, learningRate: lr, weightDecay: wd)
            }
        }
    }
}
