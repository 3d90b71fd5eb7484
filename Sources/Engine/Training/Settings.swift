import Foundation

/// The limits and parser of one numeric setting, declared once. The command line, the
/// controls panel, the session loader and the trainer all check values through it, so a
/// value is refused with the same words wherever it is typed or read.
public struct NumericSetting<Value: Sendable & Comparable & LosslessStringConvertible>: Sendable {
    /// What a person calls it ("learning rate").
    public let name: String
    public let lower: Value
    public let upper: Value
    /// Whether `lower` itself is allowed (false: the range is open below, e.g. lr > 0).
    public let includesLower: Bool
    public let includesUpper: Bool

    public init(_ name: String, _ lower: Value, _ upper: Value, includesLower: Bool = true, includesUpper: Bool = true) {
        self.name = name; self.lower = lower; self.upper = upper
        self.includesLower = includesLower; self.includesUpper = includesUpper
    }

    /// The range as a person reads it: `(0, 10]`, `1…1024`.
    public var rangeText: String {
        if includesLower && includesUpper, Value.self == Int.self { return "\(lower)…\(upper)" }
        return "\(includesLower ? "[" : "(")\(lower), \(upper)\(includesUpper ? "]" : ")")"
    }

    public func contains(_ v: Value) -> Bool {
        if let f = v as? Float, !f.isFinite { return false }
        if let d = v as? Double, !d.isFinite { return false }
        let aboveLower = includesLower ? v >= lower : v > lower
        let belowUpper = includesUpper ? v <= upper : v < upper
        return aboveLower && belowUpper
    }

    /// `v`, or an error that names the setting, the value and the allowed range.
    @discardableResult
    public func check(_ v: Value) throws -> Value {
        guard contains(v) else { throw EngineError("\(name) \(v) is out of range \(rangeText)") }
        return v
    }

    /// Parses typed text (surrounding blanks ignored) and checks it.
    public func parse(_ text: String) throws -> Value {
        let t = text.trimmingCharacters(in: .whitespaces)
        guard let v = Value(t) else {
            throw EngineError("\(name) '\(text)' is not \(Value.self == Int.self ? "a whole number" : "a number"); give a value in \(rangeText)")
        }
        return try check(v)
    }
}

/// Every setting a person can give, with its one range.
public enum Settings {
    public static let learningRate = NumericSetting<Float>("learning rate", 0, 10, includesLower: false)
    public static let weightDecay = NumericSetting<Float>("weight decay", 0, 1, includesUpper: false)
    public static let orthogonality = NumericSetting<Float>("orthogonality weight", 0, 10, includesUpper: false)
    /// SGD momentum, and Adam's β1 / β2.
    public static let momentum = NumericSetting<Float>("momentum", 0, 1, includesUpper: false)
    public static let batchSize = NumericSetting<Int>("batch size", 1, 1024)
    /// 0: evaluate only when asked (and at the end of a headless run).
    public static let evalEvery = NumericSetting<Int>("evaluation interval", 0, 100_000_000)
    public static let statsEvery = NumericSetting<Int>("statistics interval", 1, 100_000_000)
    public static let margin = NumericSetting<Int>("GA-Softmax margin", 1, HeadKind.maximumMargin)
    public static let sigmoidK = NumericSetting<Float>("sigmoid k", 0, 100, includesLower: false)
    public static let width = NumericSetting<Double>("width", 0, 8, includesLower: false)
    /// Weighted layers of a plain SphereNet (a multiple of 3).
    public static let plainDepth = NumericSetting<Int>("plain net depth", 3, 300)
    /// Weighted layers of a SphereResNet (6n + 2).
    public static let residualDepth = NumericSetting<Int>("residual net depth", 8, 302)
    public static let threads = NumericSetting<Int>("threads", 1, 256)
    /// The side of the square matrices `bench --sgemm` multiplies (4096: three 64 MB matrices).
    public static let sgemmSize = NumericSetting<Int>("sgemm size", 16, 4096)
    /// Steps of one run or one continuation. The bound keeps every count derived from steps
    /// (epochs, images, seconds) far from overflow.
    public static let steps = NumericSetting<Int>("steps", 1, 1_000_000_000)
    /// A snapshot's step: at most this, so a continuation of `steps` more can never overflow.
    public static let savedStep = NumericSetting<Int>("saved step", 0, 1_000_000_000_000)
    public static let saveEvery = NumericSetting<Int>("save interval", 1, 1_000_000_000)
    public static let evaluationLimit = NumericSetting<Int>("evaluation limit", 1, 100_000_000)
    /// A snapshot's epoch and its position in the epoch's order (far below overflow).
    public static let savedEpoch = NumericSetting<Int>("saved epoch", 0, 1_000_000_000_000)
    public static let dataIndex = NumericSetting<Int>("data position", 0, 1_000_000_000)
    /// The factor the learning rate is multiplied by at each milestone.
    public static let scheduleFactor = NumericSetting<Float>("learning-rate drop factor", 0, 1, includesLower: false)
    /// A learning-rate milestone (a step).
    public static let milestone = NumericSetting<Int>("learning-rate milestone", 1, 1_000_000_000_000)
    public static let milestoneCount = NumericSetting<Int>("number of learning-rate milestones", 0, 100)
}
